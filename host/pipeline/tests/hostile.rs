//! Hostile and broken input ends in an error that says what is wrong: never a hang, a crash or
//! an unbounded allocation.

use std::time::{Duration, Instant};

use lifeboat_pipeline::{InvalidPipeline, LoadError, MAX_FILE_BYTES, Pipeline};

const BUILTINS: &[&str] = &["dr-copy"];

/// The problems of `text`, each as "line:column: message", checked to come quickly.
fn problems(text: &str) -> Vec<String> {
    let started = Instant::now();
    let result = Pipeline::parse(text, "p.yaml", BUILTINS);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    let invalid: InvalidPipeline = match result {
        Ok(_) => panic!("accepted"),
        Err(invalid) => invalid,
    };
    invalid
        .diagnostics
        .iter()
        .map(|diagnostic| match diagnostic.location {
            Some(location) => format!("{location}: {}", diagnostic.message),
            None => diagnostic.message.clone(),
        })
        .collect()
}

const HEAD: &str = "version: 1\nname: t\nsteps:\n  - id: a\n    uses: dr-copy\n";

#[test]
fn deep_nesting_is_refused() {
    let depth = 100_000;
    let text = format!(
        "{HEAD}    with: {{ deep: {}{} }}\n",
        "[".repeat(depth),
        "]".repeat(depth)
    );
    let problems = problems(&text);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems, ["6:50: recursion limit exceeded"]);

    let mut block = String::from(HEAD);
    block.push_str("    with:\n");
    for level in 0..200 {
        block.push_str(&" ".repeat(6 + 2 * level));
        block.push_str("k:\n");
    }
    let problems = self::problems(&block);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(
        problems,
        ["36:65: YAML document too large or too complex: limits breached: Depth { depth: 33 }"]
    );
}

#[test]
fn alias_bombs_are_refused() {
    // Nine levels of ten aliases each: a billion strings if expanded.
    let mut text =
        String::from("version: 1\nname: t\nsteps:\n  - id: a\n    uses: dr-copy\n    with:\n");
    text.push_str("      l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for level in 1..=9 {
        let previous = format!("*l{}", level - 1);
        let aliases = [previous.as_str(); 10].join(", ");
        text.push_str(&format!("      l{level}: &l{level} [{aliases}]\n"));
    }
    let problems = problems(&text);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].contains("too large or too complex"),
        "{problems:?}"
    );
}

#[test]
fn an_empty_file_says_so() {
    for text in ["", "\n\n", "# nothing but a comment\n", "---\n"] {
        assert_eq!(problems(text), ["the pipeline file is empty"], "{text:?}");
    }
}

#[test]
fn a_file_over_the_cap_is_refused_before_parsing() {
    let text = format!("{HEAD}# {}\n", "x".repeat(MAX_FILE_BYTES));
    assert_eq!(
        problems(&text),
        [format!(
            "the file is {} bytes; a pipeline file may be at most {MAX_FILE_BYTES} bytes",
            text.len()
        )]
    );
}

#[test]
fn non_utf8_files_are_refused_at_the_first_bad_byte() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.yaml");
    let mut bytes = b"version: 1\nname: caf".to_vec();
    bytes.extend_from_slice(&[0xe9, b'\n']);
    std::fs::write(&path, bytes).unwrap();
    match Pipeline::load(&path, BUILTINS) {
        Err(LoadError::Invalid(invalid)) => {
            assert_eq!(
                invalid.to_string(),
                format!("{}:2:10: the file is not UTF-8 text", path.display())
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_missing_file_names_its_path() {
    let error = Pipeline::load("/nonexistent/p.yaml".as_ref(), BUILTINS).unwrap_err();
    assert_eq!(
        error.to_string(),
        "cannot read pipeline file /nonexistent/p.yaml: No such file or directory (os error 2)"
    );
}

#[test]
fn duplicate_keys_several_documents_and_tags_are_refused() {
    assert_eq!(
        problems("version: 1\nname: t\nname: u\nsteps: []\n"),
        ["3:1: duplicate mapping key `name` is not allowed here"]
    );
    let several = problems(&format!("{HEAD}---\n{HEAD}"));
    assert_eq!(several.len(), 1, "{several:?}");
    assert!(several[0].contains("document"), "{several:?}");
    let tagged = problems(&format!("{HEAD}    with: {{ a: !custom x }}\n"));
    assert_eq!(tagged.len(), 1, "{tagged:?}");
    assert!(tagged[0].starts_with("6:"), "{tagged:?}");
}

#[test]
fn yaml_1_1_booleans_are_not_booleans() {
    let problems = problems(&format!("{HEAD}    continue_on_error: yes\n"));
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].starts_with("6:24: "), "{problems:?}");
    let pipeline = Pipeline::parse(
        &format!("{HEAD}    with: {{ country: no }}\n"),
        "p.yaml",
        BUILTINS,
    )
    .unwrap();
    let with = pipeline.steps[0]
        .with
        .substitute(&lifeboat_pipeline::model::SubstitutionContext {
            job_id: "j",
            job_name: "t",
            run_id: "r",
            schedule_id: None,
            item: None,
        })
        .unwrap();
    assert_eq!(with, serde_json::json!({ "country": "no" }));
}
