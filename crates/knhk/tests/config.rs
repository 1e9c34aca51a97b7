//! `knhk config show` and `knhk config validate`, run as the built binary.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::{Command, Output};

use serde_json::Value;

fn knhk(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_knhk"));
    command.env_clear().args(args);
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().unwrap()
}

#[test]
fn show_names_every_value_and_its_source() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("knhk.toml");
    std::fs::write(
        &file,
        "listen = \"127.0.0.1:9000\"\n[limits]\npage_max = 50\n",
    )
    .unwrap();
    let out = knhk(
        &["config", "show", "--json", "--log-level", "warn"],
        &[
            ("KNHK_CONFIG", file.to_str().unwrap()),
            ("KNHK_LISTEN", "127.0.0.1:9100"),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let shown: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(shown["listen"]["value"], "127.0.0.1:9100");
    assert_eq!(shown["listen"]["source"], "env KNHK_LISTEN");
    assert_eq!(shown["limits.page_max"]["value"], 50);
    assert!(
        shown["limits.page_max"]["source"]
            .as_str()
            .unwrap()
            .starts_with("file ")
    );
    assert_eq!(shown["log_level"]["source"], "flag --log-level");
    assert_eq!(shown["url"]["source"], "default");

    let out = knhk(&["config", "show"], &[]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("0.0.0.0:8080") && text.contains("default"),
        "{text}"
    );
}

#[test]
fn validate_reports_every_problem_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(
        &file,
        "listen = 8080\nlog_level = \"loud\"\ncolour = \"blue\"\n[limits]\nbody_max_bytes = 0\n\
         [fortune5]\nkms_enabled = true\n",
    )
    .unwrap();
    let out = knhk(&["config", "validate", file.to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    for needle in ["listen", "log_level", "colour", "body_max_bytes", "kms"] {
        assert!(stderr.contains(needle), "`{needle}` not named:\n{stderr}");
    }
    let problems = stderr.lines().filter(|l| l.starts_with("error:")).count();
    assert!(problems >= 5, "{stderr}");

    let good = dir.path().join("good.toml");
    std::fs::write(&good, "listen = \"127.0.0.1:8081\"\n").unwrap();
    let out = knhk(&["config", "validate", good.to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");

    // A bad variable stops the server before it binds, naming the variable.
    let out = knhk(&[], &[("KNHK_LISTEN", "localhost")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("KNHK_LISTEN"));
}

#[test]
fn serving_refuses_settings_for_features_this_build_lacks() {
    for (variable, value) in [
        ("KNHK_DATABASE_URL", "postgres://knhk@localhost/knhk"),
        ("KNHK_FORTUNE5_ENABLED", "true"),
    ] {
        let out = knhk(&[], &[("KNHK_LISTEN", "127.0.0.1:0"), (variable, value)]);
        assert_eq!(out.status.code(), Some(2), "{variable}: {out:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(variable) && stderr.contains("not available in this build"),
            "{stderr}"
        );
    }
}
