//! Replays the decision fixtures of `tests/fixtures/decisions/` against the policy engine.
//!
//! Every request of every file is replayed and all failures are reported together, each naming
//! its file, request index, description and what differed. Set `TESSERA_FIXTURE=<substring>` to
//! replay only the files whose name contains it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use tessera_tests::{Failure, Fixture, Selection, fixtures_dir, lint, load_fixtures, replay};

fn fixtures() -> Vec<(String, Fixture)> {
    let all = load_fixtures(&fixtures_dir()).unwrap_or_else(|e| panic!("{e}"));
    match std::env::var("TESSERA_FIXTURE") {
        Ok(filter) => all
            .into_iter()
            .filter(|(name, _)| name.contains(&filter))
            .collect(),
        Err(_) => all,
    }
}

fn report(failures: &[Failure], replayed: usize, files: usize) -> String {
    let lines: Vec<String> = failures.iter().map(ToString::to_string).collect();
    format!(
        "{} of {replayed} requests in {files} fixture files failed:\n\n{}\n",
        failures.len(),
        lines.join("\n\n")
    )
}

#[test]
fn fixtures_replay_against_the_engine() {
    let fixtures = fixtures();
    let mut failures = Vec::new();
    let mut replayed = 0;
    let mut skipped = 0;
    for (name, fixture) in &fixtures {
        let (f, n) = replay(name, fixture, Selection::Regular);
        failures.extend(f);
        replayed += n;
        skipped += fixture
            .requests
            .iter()
            .filter(|r| r.known_bug.is_some())
            .count();
    }
    eprintln!(
        "replayed {replayed} requests from {} fixture files ({skipped} marked `known_bug` skipped)",
        fixtures.len()
    );
    for (name, fixture) in &fixtures {
        let (still_failing, _) = replay(name, fixture, Selection::KnownBugs);
        for (i, r) in fixture.requests.iter().enumerate() {
            if r.known_bug.is_some() && !still_failing.iter().any(|f| f.request == Some(i)) {
                eprintln!("{name} request #{i} is marked known_bug but passes: drop the marker");
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{}",
        report(&failures, replayed, fixtures.len())
    );
}

#[test]
fn fixtures_are_well_formed() {
    let fixtures = fixtures();
    let mut problems = Vec::new();
    for (name, fixture) in &fixtures {
        problems.extend(lint(fixture).into_iter().map(|p| format!("{name}: {p}")));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn fixture_corpus_covers_the_language() {
    if std::env::var("TESSERA_FIXTURE").is_ok() {
        return;
    }
    let fixtures = fixtures();
    let requests: usize = fixtures.iter().map(|(_, f)| f.requests.len()).sum();
    assert!(
        fixtures.len() >= 20,
        "only {} fixture files",
        fixtures.len()
    );
    assert!(requests >= 150, "only {requests} fixture requests");

    // Every condition operator appears in some fixture document (exactly, with or without a
    // qualifier or IfExists), and so do the set qualifiers, IfExists, NotAction and the trust
    // policy principal types.
    let all_text: String = fixtures
        .iter()
        .flat_map(|(_, f)| tessera_tests::documents(f))
        .map(|(_, text)| text)
        .collect::<Vec<_>>()
        .join("\n");
    let mut missing = Vec::new();
    for op in tessera_policy::Operator::ALL {
        let name = op.name();
        let spelled = [
            format!("\"{name}\""),
            format!("\"{name}IfExists\""),
            format!(":{name}\""),
            format!(":{name}IfExists\""),
        ];
        if !spelled.iter().any(|s| all_text.contains(s.as_str())) {
            missing.push(name);
        }
    }
    for feature in [
        "IfExists\"",
        "ForAnyValue:",
        "ForAllValues:",
        "NotAction",
        "\"Service\"",
        "\"Federated\"",
        "sts:ExternalId",
    ] {
        if !all_text.contains(feature) {
            missing.push(feature);
        }
    }
    assert!(
        missing.is_empty(),
        "not covered by any fixture: {missing:?}"
    );
}

/// A tool, not a check: writes every fixture document into the directory named by
/// `TESSERA_FUZZ_CORPUS`, to seed the parser's fuzz corpus:
/// `TESSERA_FUZZ_CORPUS=$PWD/crates/policy/fuzz/corpus/parse cargo test -p tessera-tests --test decisions -- --ignored seed_fuzz_corpus`
#[test]
#[ignore = "tool: seeds the fuzz corpus; run with TESSERA_FUZZ_CORPUS=<dir> and --ignored"]
fn seed_fuzz_corpus() {
    let dir = std::env::var_os("TESSERA_FUZZ_CORPUS").expect("set TESSERA_FUZZ_CORPUS");
    let dir = std::path::PathBuf::from(dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut written = 0;
    for (name, fixture) in fixtures() {
        let stem = name.trim_end_matches(".json");
        for (i, (_, text)) in tessera_tests::documents(&fixture).iter().enumerate() {
            std::fs::write(dir.join(format!("{stem}-{i}.json")), text).unwrap();
            written += 1;
        }
    }
    eprintln!("wrote {written} documents to {}", dir.display());
}
