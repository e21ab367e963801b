//! Project automation.
//!
//! - `cargo xtask codegen` writes `hercle-models`' generated code and
//!   `docs/coverage.md` from `api/hercle.openapi.json`;
//! - `cargo xtask codegen --check` fails with a diff when they are stale.

#![allow(clippy::print_stdout, clippy::print_stderr)]

mod codegen;
mod coverage;
mod hub_contract;
mod operations;
mod spec;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("codegen") => run_codegen(args.iter().any(|a| a == "--check")),
        _ => Err("usage: cargo xtask codegen [--check]".to_owned()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}

/// The checkout to work on: the nearest directory above the current one
/// holding the API description, else the one this binary was built from.
fn root() -> PathBuf {
    let here = std::env::current_dir().unwrap_or_default();
    here.ancestors()
        .find(|d| d.join("api/hercle.openapi.json").is_file())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_default()
        })
}

fn run_codegen(check: bool) -> Result<(), String> {
    let root = root();
    let spec = spec::Spec::load(&root.join("api/hercle.openapi.json"))?;
    let mut outputs = codegen::generate(&spec)?;
    outputs.extend(operations::generate(&spec)?);
    let client = outputs
        .iter()
        .find(|(p, _)| p == Path::new(operations::CLIENT_FILE))
        .map(|(_, text)| text.clone())
        .unwrap_or_default();
    outputs.push((
        PathBuf::from("docs/coverage.md"),
        coverage::render(&spec, &root, &client)?,
    ));
    let out_dir = root.join("crates/hercle-models/src/generated");
    let mut stale = Vec::new();
    let expected: Vec<PathBuf> = outputs.iter().map(|(p, _)| root.join(p)).collect();
    // A generated file whose schema was removed is stale too.
    if let Ok(entries) = std::fs::read_dir(&out_dir) {
        for entry in entries.flatten() {
            if !expected.contains(&entry.path()) {
                stale.push(format!("{} is no longer generated", entry.path().display()));
                if !check {
                    std::fs::remove_file(entry.path()).map_err(|e| e.to_string())?;
                }
            }
        }
    }
    for (rel, text) in &outputs {
        let path = root.join(rel);
        let old = std::fs::read_to_string(&path).unwrap_or_default();
        if old == *text {
            continue;
        }
        if check {
            let diff = similar::TextDiff::from_lines(&old, text);
            stale.push(format!(
                "{} is stale:\n{}",
                rel.display(),
                diff.unified_diff()
                    .context_radius(2)
                    .header("committed", "generated")
            ));
        } else {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
            }
            std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
            println!("wrote {}", rel.display());
        }
    }
    if check && !stale.is_empty() {
        return Err(format!(
            "{}\n\ngenerated code is stale: run `cargo xtask codegen` and commit the result",
            stale.join("\n")
        ));
    }
    Ok(())
}
