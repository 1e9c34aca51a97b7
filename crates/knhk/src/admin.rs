//! Commands that work on this machine without a server: `knhk store check` (the problems
//! of a stopped data directory) and `knhk token new` (an API token and its entry for the
//! tokens file).

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use knhk_runtime::{RedbStore, StoragePaths, StoreError, StoreReport};
use knhk_server::Role;
use serde_json::json;

/// Problems found: exit code 1.
const EXIT_PROBLEMS: u8 = 1;

/// `knhk store check`: loads everything in the data directory's database as the
/// server would, and reports what does not load. Writes nothing: a database that was
/// not closed cleanly (a crash) is copied and the copy repaired and checked.
pub(crate) fn store_check(storage: &StoragePaths, json: bool) -> anyhow::Result<ExitCode> {
    let db = &storage.workflow_db;
    if !db.is_file() {
        anyhow::bail!(
            "no database at {} (is the data directory right?)",
            db.display()
        );
    }
    let (report, repaired) = match RedbStore::open_read_only(db) {
        Ok(store) => (knhk_runtime::check_store(&store)?, false),
        Err(StoreError::NeedsRepair { .. }) => (check_repaired_copy(db)?, true),
        Err(e) => {
            return Err(e).with_context(|| {
                format!("cannot open {} (is a server running on it?)", db.display())
            });
        }
    };
    if json {
        let mut value = serde_json::to_value(&report)?;
        value["database"] = json!(db.display().to_string());
        value["repaired_copy"] = json!(repaired);
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        print_report(db, &report, repaired);
    }
    Ok(if report.is_clean() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_PROBLEMS)
    })
}

/// Checks a repaired copy of `db`, leaving `db` as it is.
fn check_repaired_copy(db: &Path) -> anyhow::Result<StoreReport> {
    let dir = tempfile::tempdir().context("cannot make a directory for the copy")?;
    let copy = dir.path().join("workflow_db");
    std::fs::copy(db, &copy).with_context(|| format!("cannot copy {}", db.display()))?;
    let store = RedbStore::open(&copy)
        .with_context(|| format!("cannot repair a copy of {}", db.display()))?;
    Ok(knhk_runtime::check_store(&store)?)
}

fn print_report(db: &Path, report: &StoreReport, repaired: bool) {
    println!(
        "{}: {} specification version{}, {} case{}, {} record{}",
        db.display(),
        report.specs,
        plural(report.specs),
        report.cases,
        plural(report.cases),
        report.records,
        plural(report.records)
    );
    if repaired {
        println!(
            "note: the database was not closed cleanly; a repaired copy was checked (the \
             server repairs the database itself when it starts)"
        );
    }
    for broken in &report.broken_specs {
        println!(
            "specification {} does not load: {}",
            broken.spec_ref, broken.reason
        );
    }
    for q in &report.quarantined {
        println!(
            "case {} would be quarantined (record {}): {}",
            q.id.0, q.seq, q.reason
        );
    }
    for (case, seq, reason) in &report.unreadable_records {
        println!("case {} record {seq} does not decode: {reason}", case.0);
    }
    if report.is_clean() {
        println!("no problems found");
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// `knhk token new`: a random token (256 bits from the operating system) and the
/// tokens file entry that admits it.
pub(crate) fn token_new(identity: &str, role: &str, json: bool) -> anyhow::Result<ExitCode> {
    let role: Role = serde_json::from_value(json!(role))
        .map_err(|_| anyhow::anyhow!("`{role}` is not a role (reader, worker, operator, admin)"))?;
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    let token: String = format!(
        "knhk_{}",
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    );
    let entry = format!(
        "[[token]]\nidentity = {}\nrole = \"{role}\"\nsha256 = \"{}\"\n",
        toml::Value::String(identity.to_owned()),
        knhk_server::auth::token_hash(&token)
    );
    // The entry must read back as it will be read: same rules, same identity.
    knhk_server::Tokens::parse(&entry)
        .map_err(|problems| anyhow::anyhow!("{}", problems.join("; ")))?;
    if json {
        let value = json!({"token": token, "identity": identity, "role": role.as_str(),
                           "sha256": knhk_server::auth::token_hash(&token)});
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        println!("token: {token}");
        println!("(shown once; give it to `{identity}`, e.g. as KNHK_TOKEN)\n");
        println!("add to the tokens file (KNHK_API_TOKENS_FILE):\n\n{entry}");
    }
    Ok(ExitCode::SUCCESS)
}
