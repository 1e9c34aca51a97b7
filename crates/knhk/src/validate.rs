//! `knhk workflow validate FILE`: read a specification, verify it, print the findings.

use std::process::ExitCode;

use anyhow::Context;
use knhk_ingest::{CheckOptions, Format};
use knhk_model::Specification;
use knhk_verify::{Finding, Report, Verdict, VerifyOptions};
use serde::Serialize;

use crate::cli::ValidateArgs;

/// Runs the command: `Ok` with exit code 0 (no errors) or 1 (errors), `Err` when the
/// file cannot be read.
pub(crate) fn run(args: &ValidateArgs, json: bool) -> anyhow::Result<ExitCode> {
    let path = &args.file;
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read `{}`", path.display()))?;
    let format = knhk_ingest::detect(path, &text);
    let options = CheckOptions {
        lenient: args.lenient,
        elements_max: None,
        verify: VerifyOptions {
            soundness: !args.no_soundness,
            states_max: args.states_max,
            reject_unsound: args.reject_unsound,
            ..VerifyOptions::default()
        },
    };
    let checked = knhk_ingest::check(format, &text, &base_iri(path), &options);
    let report = &checked.report;
    if json {
        print_json(args, format, report)?;
    } else {
        print_text(args, format, report, checked.spec.as_ref());
    }
    Ok(ExitCode::from(u8::from(report.has_errors())))
}

/// The base IRI of a Turtle file: its own location as a `file:` IRI.
fn base_iri(path: &std::path::Path) -> String {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    format!("file://{}", absolute.display())
}

/// One finding per line, then a summary. A finding about a named task or condition
/// also shows the name, which for a Turtle import carries the element's IRI.
fn print_text(args: &ValidateArgs, format: Format, report: &Report, spec: Option<&Specification>) {
    for finding in &report.errors {
        println!("error: {finding}{}", named(finding, spec));
    }
    for finding in &report.warnings {
        println!("warning: {finding}{}", named(finding, spec));
    }
    let mut summary = format!(
        "{} ({format}): {} error{}, {} warning{}",
        args.file.display(),
        report.errors.len(),
        plural(report.errors.len()),
        report.warnings.len(),
        plural(report.warnings.len()),
    );
    if !report.soundness.is_empty() {
        let count = |v: Verdict| report.soundness.iter().filter(|s| s.verdict == v).count();
        summary.push_str(&format!(
            "; soundness: {} sound, {} unsound, {} unknown",
            count(Verdict::Sound),
            count(Verdict::Unsound),
            count(Verdict::Unknown)
        ));
    }
    println!("{summary}");
}

/// ` (name)` when the finding's element has a name in `spec`, else nothing.
fn named(finding: &Finding, spec: Option<&Specification>) -> String {
    let net = spec
        .zip(finding.net.as_deref())
        .and_then(|(spec, net)| spec.net(net));
    let name = match (net, &finding.element) {
        (Some(net), Some(knhk_verify::Element::Task { id })) => {
            net.task(id).and_then(|t| t.name.as_deref())
        }
        (Some(net), Some(knhk_verify::Element::Condition { id })) => net
            .all_conditions()
            .find(|c| &c.id == id)
            .and_then(|c| c.name.as_deref()),
        _ => None,
    };
    name.map(|name| format!(" ({name})")).unwrap_or_default()
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// The JSON document of `--json`.
#[derive(Serialize)]
struct Output<'a> {
    file: String,
    format: Format,
    valid: bool,
    #[serde(flatten)]
    report: &'a Report,
}

fn print_json(args: &ValidateArgs, format: Format, report: &Report) -> anyhow::Result<()> {
    let output = Output {
        file: args.file.display().to_string(),
        format,
        valid: !report.has_errors(),
        report,
    };
    let text = serde_json::to_string_pretty(&output).context("cannot render the report")?;
    println!("{text}");
    Ok(())
}
