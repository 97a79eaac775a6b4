//! `lifeboat run`, `validate` and `schema` end to end: the example pipeline against the
//! example pools twice (replicas and retention), NDJSON events, the documented exit codes, and
//! errors that name file, line and column.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repository(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

fn lifeboat(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lifeboat"))
        .args(args)
        .env(
            "XDG_CACHE_HOME",
            std::env::temp_dir().join("lifeboat-cli-tests-cache"),
        )
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn the_example_pipeline_replaces_its_copies_across_runs() {
    let state = tempfile::tempdir().unwrap();
    let events = state.path().join("events.ndjson");
    let pipeline = repository("examples/dr-copy.yaml");
    let fixture = repository("examples/sim-pools.yaml");
    let run = |extra: &[&str]| {
        let mut args = vec![
            "run",
            pipeline.to_str().unwrap(),
            "--sim-fixture",
            fixture.to_str().unwrap(),
            "--sim-state",
            state.path().to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        lifeboat(&args)
    };
    let first = run(&["--events-file", events.to_str().unwrap()]);
    assert_eq!(first.status.code(), Some(0), "{}", text(&first.stderr));
    let summary = text(&first.stdout);
    assert!(summary.contains("step replicate: ok"), "{summary}");
    assert!(
        summary.contains("replica: web01 - nightly-dr - ("),
        "{summary}"
    );
    assert!(
        summary.contains("replica: db01 - nightly-dr - ("),
        "{summary}"
    );
    let log = std::fs::read_to_string(&events).unwrap();
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|line| serde_json::from_str(line).expect("each line is JSON"))
        .collect();
    assert_eq!(lines.first().unwrap()["event"], "job.start");
    assert_eq!(lines.last().unwrap()["event"], "job.end");
    assert_eq!(lines.last().unwrap()["status"], "success");

    // A second run, a second later so that its copies have another time: it replaces the
    // copy of each VM (copyRetention 1).
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let second = run(&["--events", "ndjson"]);
    assert_eq!(second.status.code(), Some(0), "{}", text(&second.stderr));
    assert!(
        text(&second.stdout)
            .lines()
            .all(|line| line.starts_with('{'))
    );
    let summary = text(&second.stderr);
    assert!(summary.contains("step replicate: ok"), "{summary}");
    assert!(summary.contains("removed 1 old copy"), "{summary}");
    let saved = std::fs::read_to_string(state.path().join("recovery/db.json")).unwrap();
    assert_eq!(
        saved.matches("web01 - nightly-dr - (").count(),
        1,
        "one copy of web01 is kept"
    );
}

#[test]
fn a_partly_failed_run_exits_with_3_and_a_failed_one_with_1() {
    let dir = tempfile::tempdir().unwrap();
    let trap = Path::new(lifeboat_builtins::COMPONENTS_DIR).join("trap.wasm");
    let digest = {
        use sha2::Digest;
        let bytes = std::fs::read(&trap).unwrap();
        sha2::Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    let write = |name: &str, continue_on_error: bool, only: &str| {
        let path = dir.path().join(name);
        std::fs::write(
            &path,
            format!(
                r#"version: 1
name: exits
connections:
  production: {{ kind: xapi, url: "sim://production" }}
components:
  trap: {{ path: "{}", digest: "sha256:{digest}" }}
steps:
  - id: crash
    uses: trap
    allow: {{ xapi: [production] }}
    for_each: {{ vms: {{ pool: production, tags: [prod] }} }}
    continue_on_error: {continue_on_error}
    with: {{ vm: "${{{{ item.uuid }}}}", only: "{only}" }}
"#,
                trap.display()
            ),
        )
        .unwrap();
        path
    };
    let web01 = "24987c30-37fb-5b44-aa94-294fb5556ab8";
    let partial = lifeboat(&["run", write("partial.yaml", true, web01).to_str().unwrap()]);
    assert_eq!(partial.status.code(), Some(3), "{}", text(&partial.stderr));
    let summary = text(&partial.stdout);
    assert!(
        summary.contains(&format!(
            "step crash, VM web01 ({web01}): component trap crashed"
        )),
        "{summary}"
    );
    let failed = lifeboat(&["run", write("failed.yaml", false, web01).to_str().unwrap()]);
    assert_eq!(failed.status.code(), Some(1), "{}", text(&failed.stderr));
}

#[test]
fn invalid_pipelines_exit_with_2_and_say_where() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.yaml");
    std::fs::write(
        &path,
        "version: 1\nname: bad\nsteps:\n  - id: one\n    uses: dr-copy\n    timout: 5m\n",
    )
    .unwrap();
    for command in ["validate", "run"] {
        let output = lifeboat(&[command, path.to_str().unwrap()]);
        assert_eq!(output.status.code(), Some(2), "{command}");
        let error = text(&output.stderr);
        assert!(error.contains("bad.yaml:6:5"), "{command}: {error}");
        assert!(error.contains("timout"), "{command}: {error}");
    }
    let missing = dir.path().join("secret.yaml");
    std::fs::write(
        &missing,
        "version: 1\nname: s\nsecrets:\n  pw: { env: LIFEBOAT_CLI_TEST_UNSET }\nconnections:\n  p: { kind: xapi, url: \"https://p.invalid\", username: root, password: \"${{ secrets.pw }}\" }\nsteps:\n  - id: one\n    uses: dr-copy\n    allow: { xapi: [p] }\n    with: {}\n",
    )
    .unwrap();
    let output = lifeboat(&["run", missing.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output.stderr).contains("LIFEBOAT_CLI_TEST_UNSET"),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn secrets_never_reach_the_output() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("secret.yaml");
    std::fs::write(
        &path,
        r#"version: 1
name: secretive
secrets:
  pw: { env: LIFEBOAT_CLI_TEST_PASSWORD }
connections:
  nowhere: { kind: xapi, url: "http://127.0.0.1:9/", username: root, password: "${{ secrets.pw }}" }
steps:
  - id: one
    uses: dr-copy
    allow: { xapi: [nowhere] }
    with: { vm: "x", source: nowhere, target: nowhere, sr: x }
"#,
    )
    .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_lifeboat"))
        .args(["run", path.to_str().unwrap(), "--events", "ndjson"])
        .env("LIFEBOAT_CLI_TEST_PASSWORD", "s3cr3t-value-42")
        .env(
            "XDG_CACHE_HOME",
            std::env::temp_dir().join("lifeboat-cli-tests-cache"),
        )
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    let everything = format!("{}{}", text(&output.stdout), text(&output.stderr));
    assert!(
        everything.contains("connection \"nowhere\""),
        "{everything}"
    );
    assert!(!everything.contains("s3cr3t-value-42"), "{everything}");
}

#[test]
fn the_schema_is_the_committed_one_and_help_documents_exit_codes() {
    let schema = lifeboat(&["schema"]);
    assert_eq!(schema.status.code(), Some(0));
    let printed: serde_json::Value = serde_json::from_slice(&schema.stdout).unwrap();
    let committed: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repository("schemas/pipeline.v1.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(printed, committed);
    let help = text(&lifeboat(&["run", "--help"]).stdout);
    for needle in [
        "--events",
        "--sim-state",
        "3  partly failed",
        "2  invalid input",
    ] {
        assert!(
            help.contains(needle),
            "run --help lacks {needle:?}:\n{help}"
        );
    }
}

#[test]
fn validate_checks_each_steps_parameters_against_its_components_schema() {
    let example = std::fs::read_to_string(repository("examples/dr-copy.yaml")).unwrap();
    let broken = example
        .replace(
            "      source: production\n",
            "      source: production\n      compression: lz4\n",
        )
        .replace("      sr: ", "      srr: ");
    let lines: Vec<&str> = broken.lines().collect();
    let line_of = |needle: &str| 1 + lines.iter().position(|l| l.contains(needle)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.yaml");
    std::fs::write(&path, &broken).unwrap();

    let checked = lifeboat(&["validate", path.to_str().unwrap()]);
    assert_eq!(checked.status.code(), Some(2), "{}", text(&checked.stdout));
    let errors = text(&checked.stderr);
    let at = |needle: &str, column: usize| {
        format!(
            "broken.yaml:{}:{column}: step `replicate`: ",
            line_of(needle)
        )
    };
    assert!(
        errors.contains(&format!(
            "{}`with/compression`: \"lz4\" is not one of",
            at("compression: lz4", 20)
        )),
        "{errors}"
    );
    assert!(
        errors.contains(&format!(
            "{}`with/srr`: Additional properties",
            at("srr: ", 12)
        )),
        "{errors}"
    );

    let fine = lifeboat(&[
        "validate",
        repository("examples/dr-copy.yaml").to_str().unwrap(),
    ]);
    assert_eq!(fine.status.code(), Some(0), "{}", text(&fine.stderr));
}
