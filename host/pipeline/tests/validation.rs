//! Every rule of the pipeline file: each broken rule is reported with its message and the
//! line:column of the offending node.

use lifeboat_pipeline::{Diagnostic, InvalidPipeline, Pipeline};

const BUILTINS: &[&str] = &["dr-copy", "keep-last"];

fn invalid(text: &str) -> InvalidPipeline {
    match Pipeline::parse(text, "p.yaml", BUILTINS) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(invalid) => invalid,
    }
}

/// The only problem of `text`, as `(line:column, message)`.
fn only_error(text: &str) -> (String, String) {
    let invalid = invalid(text);
    assert_eq!(invalid.diagnostics.len(), 1, "{invalid}");
    let diagnostic = &invalid.diagnostics[0];
    (place(diagnostic), diagnostic.message.clone())
}

fn place(diagnostic: &Diagnostic) -> String {
    diagnostic
        .location
        .map_or_else(|| "-".to_owned(), |location| location.to_string())
}

fn hint(text: &str) -> String {
    let invalid = invalid(text);
    invalid.diagnostics[0].hint.clone().unwrap_or_default()
}

/// A valid pipeline's first lines; tests add `steps`.
const HEAD: &str = "\
version: 1
name: t
secrets:
  pw: { env: PW }
connections:
  prod: { kind: xapi, url: \"sim://prod\" }
  dr: { kind: xapi, url: \"sim://dr\" }
  store: { kind: fs, path: /srv/backups }
";

fn with_steps(steps: &str) -> String {
    format!("{HEAD}steps:\n{steps}")
}

#[test]
fn a_valid_pipeline_loads() {
    let pipeline = Pipeline::parse(
        &with_steps("  - id: copy\n    uses: dr-copy\n"),
        "p.yaml",
        BUILTINS,
    )
    .unwrap();
    assert_eq!(pipeline.steps[0].id, "copy");
}

#[test]
fn yaml_syntax_errors_are_located() {
    let (at, message) = only_error("version: 1\nname: t\nsteps: [\n");
    assert_eq!(at, "3:8");
    assert_eq!(message, "unclosed bracket '['");
    let (at, message) = only_error("version: 1\nname: \"unterminated\nsteps: []\n");
    assert_eq!(at, "3:1");
    assert_eq!(message, "invalid indentation in multiline quoted scalar");
}

#[test]
fn unknown_keys_are_refused_everywhere() {
    assert_eq!(
        only_error(&with_steps("  - id: copy\n    uses: dr-copy\n    timout: 2h\n")),
        (
            "12:5".to_owned(),
            "unknown field `timout`, expected one of id, name, uses, allow, for_each, max_parallel, retry, \
             timeout, continue_on_error, retention, with"
                .to_owned()
        )
    );
    let (at, message) = only_error(&format!("{HEAD}stepz: []\n"));
    assert_eq!(at, "9:1");
    assert!(message.starts_with("unknown field `stepz`"), "{message}");
    let (at, message) = only_error(&format!(
        "{HEAD}defaults: {{ retry: {{ attempts: 2 }} }}\nsteps: []\n"
    ));
    assert_eq!(at, "9:22");
    assert!(message.starts_with("unknown field `attempts`"), "{message}");
}

#[test]
fn the_version_must_be_1() {
    assert_eq!(
        only_error("version: 2\nname: t\nsteps:\n  - id: a\n    uses: dr-copy\n"),
        (
            "1:10".to_owned(),
            "unsupported version 2: this Lifeboat reads version 1".to_owned()
        )
    );
}

#[test]
fn step_ids_are_unique_across_steps_and_finally() {
    let text = with_steps(
        "  - id: copy\n    uses: dr-copy\nfinally:\n  - id: copy\n    uses: keep-last\n",
    );
    assert_eq!(
        only_error(&text),
        ("13:9".to_owned(), "duplicate step id `copy`".to_owned())
    );
    assert_eq!(hint(&text), "the first step with this id is at line 10");
}

#[test]
fn step_ids_have_a_syntax() {
    for id in ["Copy", "1copy", "co py", "copy!"] {
        let text = with_steps(&format!("  - id: \"{id}\"\n    uses: dr-copy\n"));
        assert_eq!(
            only_error(&text),
            ("10:9".to_owned(), format!("`{id}` is not a valid step id"))
        );
    }
}

#[test]
fn uses_and_retention_name_a_builtin_or_a_component() {
    let text = format!(
        "{HEAD}components:\n  keep-weekly: {{ path: k.wasm, digest: \"sha256:{}\" }}\nsteps:\n  \
         - id: a\n    uses: dr-copyy\n    retention: keep-weekly\n  \
         - id: b\n    uses: keep-weekly\n    retention: keep-lastt\n",
        "0".repeat(64)
    );
    let invalid = invalid(&text);
    let found: Vec<(String, &str)> = invalid
        .diagnostics
        .iter()
        .map(|d| (place(d), d.message.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            ("13:11".to_owned(), "unknown component `dr-copyy`"),
            ("17:16".to_owned(), "unknown component `keep-lastt`"),
        ]
    );
    assert_eq!(
        invalid.diagnostics[0].hint.as_deref(),
        Some(
            "built-in components: `dr-copy`, `keep-last`; declared under `components`: `keep-weekly`"
        )
    );
}

#[test]
fn a_component_cannot_take_a_builtin_name() {
    let text = format!(
        "{HEAD}components:\n  dr-copy: {{ path: k.wasm, digest: \"sha256:{}\" }}\nsteps:\n  - id: a\n    uses: dr-copy\n",
        "0".repeat(64)
    );
    assert_eq!(
        only_error(&text),
        (
            "10:3".to_owned(),
            "component `dr-copy` has the name of a built-in component".to_owned()
        )
    );
}

#[test]
fn grants_name_declared_connections_of_the_right_kind() {
    let text = with_steps(
        "  - id: a\n    uses: dr-copy\n    allow: { xapi: [prod, store, nope], storage: [dr] }\n",
    );
    let invalid = invalid(&text);
    let found: Vec<(String, &str)> = invalid
        .diagnostics
        .iter()
        .map(|d| (place(d), d.message.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            (
                "12:27".to_owned(),
                "`store` is a connection of kind `remote`; `allow.xapi` lists connections of kind `xapi`"
            ),
            ("12:34".to_owned(), "unknown connection `nope`"),
            (
                "12:51".to_owned(),
                "`dr` is a connection of kind `xapi`; `allow.storage` lists connections of kind `remote`"
            ),
        ]
    );
    assert_eq!(
        invalid.diagnostics[0].hint.as_deref(),
        Some("list it under `allow.remotes`")
    );
    assert_eq!(
        invalid.diagnostics[1].hint.as_deref(),
        Some("declared connections: `dr`, `prod`, `store`")
    );
}

#[test]
fn the_for_each_pool_is_an_xapi_connection_granted_to_the_step() {
    let step = |allow: &str, pool: &str| {
        with_steps(&format!(
            "  - id: a\n    uses: dr-copy\n    allow: {{ xapi: [{allow}], storage: [store] }}\n    \
             for_each:\n      vms: {{ pool: {pool}, tags: [prod] }}\n"
        ))
    };
    let text = step("dr", "prod");
    assert_eq!(
        only_error(&text),
        (
            "14:20".to_owned(),
            "the step is not granted the pool `prod`".to_owned()
        )
    );
    assert_eq!(hint(&text), "add `prod` to the step's `allow.xapi`");
    assert_eq!(
        only_error(&step("prod", "store")),
        (
            "14:20".to_owned(),
            "`store` is a connection of kind `remote`; `pool` names an xapi connection".to_owned()
        )
    );
    assert_eq!(
        only_error(&step("prod", "nowhere")),
        (
            "14:20".to_owned(),
            "unknown connection `nowhere`".to_owned()
        )
    );
}

#[test]
fn vms_are_chosen_one_way_only() {
    let step = |vms: &str| {
        with_steps(&format!(
            "  - id: a\n    uses: dr-copy\n    allow: {{ xapi: [prod] }}\n    for_each:\n      vms: {vms}\n"
        ))
    };
    assert_eq!(
        only_error(&step("{ pool: prod }")),
        ("14:12".to_owned(), "no VMs chosen".to_owned())
    );
    assert_eq!(
        only_error(&step("{ pool: prod, tags: [a], uuids: [] }")),
        (
            "14:12".to_owned(),
            "`uuids` and `tags` cannot be combined".to_owned()
        )
    );
    assert_eq!(
        only_error(&step("{ pool: prod, tags: [] }")),
        (
            "14:12".to_owned(),
            "`tags` is empty: give at least one tag".to_owned()
        )
    );
    assert_eq!(
        only_error(&step("{ pool: prod, uuids: [] }")),
        (
            "14:12".to_owned(),
            "`uuids` is empty: give at least one VM UUID".to_owned()
        )
    );
    assert_eq!(
        only_error(&step("{ pool: prod, tags: [a, \"\"] }")),
        ("14:36".to_owned(), "a tag cannot be empty".to_owned())
    );
}

#[test]
fn vm_uuids_are_uuids() {
    let step = |vms: &str| {
        with_steps(&format!(
            "  - id: a\n    uses: dr-copy\n    allow: {{ xapi: [prod] }}\n    for_each:\n      vms:\n        pool: prod\n{vms}"
        ))
    };
    let good = "0f5d5f1e-3c2b-4a1d-9e8f-7a6b5c4d3e2f";
    let text = step(&format!(
        "        uuids:\n          - {good}\n          - not-a-uuid\n          - \"{{{good}}}\"\n"
    ));
    let invalid = invalid(&text);
    let found: Vec<(String, &str)> = invalid
        .diagnostics
        .iter()
        .map(|d| (place(d), d.message.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            ("18:13".to_owned(), "`not-a-uuid` is not a VM UUID"),
            (
                "19:13".to_owned(),
                "`{0f5d5f1e-3c2b-4a1d-9e8f-7a6b5c4d3e2f}` is not a VM UUID"
            ),
        ]
    );
    assert_eq!(
        only_error(&step(&format!(
            "        pattern: {{ id: {{ __or: [{good}, nope] }} }}\n"
        ))),
        ("16:71".to_owned(), "`nope` is not a VM UUID".to_owned())
    );
    assert_eq!(
        only_error(&step("        pattern: { id: nope }\n")),
        ("16:24".to_owned(), "`nope` is not a VM UUID".to_owned())
    );
    assert_eq!(
        only_error(&step("        pattern: { id: { __or: [] } }\n")),
        (
            "16:24".to_owned(),
            "`__or` is empty: give at least one VM UUID".to_owned()
        )
    );
}

#[test]
fn a_literal_password_is_refused_with_a_hint() {
    let text = "version: 1\nname: t\nconnections:\n  pool:\n    kind: xapi\n    url: https://10.0.0.2\n    \
                username: root\n    password: hunter2\nsteps:\n  - id: a\n    uses: dr-copy\n";
    assert_eq!(
        only_error(text),
        (
            "8:15".to_owned(),
            "a password cannot be written in the pipeline file".to_owned()
        )
    );
    assert!(
        hint(text).contains("`password: \"${{ secrets.NAME }}\"`"),
        "{}",
        hint(text)
    );
}

#[test]
fn secret_references_name_declared_secrets() {
    let text = "version: 1\nname: t\nsecrets:\n  pw: { file: /run/secrets/pw }\nconnections:\n  pool:\n    \
                kind: xapi\n    url: https://10.0.0.2\n    username: \"${{ secrets.user }}\"\n    \
                password: \"${{ secrets.pw }}\"\nsteps:\n  - id: a\n    uses: dr-copy\n";
    assert_eq!(
        only_error(text),
        ("9:15".to_owned(), "unknown secret `user`".to_owned())
    );
    assert_eq!(hint(text), "declare it under `secrets:`; declared: `pw`");
}

#[test]
fn connections_take_only_their_kinds_fields() {
    let text = "version: 1\nname: t\nconnections:\n  a: { kind: xapi, url: \"sim://a\", path: /x }\n  \
                b: { kind: fs, path: /b, tls: { verify: false } }\n  c: { kind: xapi }\n  \
                d: { kind: xapi, url: \"https://h\" }\n  e: { kind: xapi, url: \"ftp://h\" }\n  \
                f: { kind: xapi, url: \"http://h\", username: u, password: \"${{ item.uuid }}\" }\n  \
                g: { kind: xapi, url: \"sim://g\", tls: { verify: true } }\n  \
                h: { kind: s3 }\nsteps:\n  - id: a\n    uses: dr-copy\n";
    let (at, message) = only_error(text);
    assert_eq!(at, "11:14");
    assert_eq!(
        message,
        "unknown variant `s3`, expected one of xapi, remote, fs, openstack"
    );

    let text = text.replace("  h: { kind: s3 }\n", "");
    let invalid = invalid(&text);
    let found: Vec<(String, &str)> = invalid
        .diagnostics
        .iter()
        .map(|d| (place(d), d.message.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            (
                "4:42".to_owned(),
                "`path` does not apply to a connection of kind `xapi`"
            ),
            (
                "5:33".to_owned(),
                "`tls` does not apply to a remote in a local folder"
            ),
            ("6:3".to_owned(), "connection `c` needs a `url`"),
            (
                "7:3".to_owned(),
                "connection `d` needs a `username` and a `password`"
            ),
            ("8:25".to_owned(), "unsupported URL scheme `ftp`"),
            (
                "9:60".to_owned(),
                "`${{ item.uuid }}` cannot be used in a connection"
            ),
            ("10:41".to_owned(), "`tls` applies only to `https://` URLs"),
        ]
    );
}

#[test]
fn tls_takes_exactly_one_form() {
    let connection = |tls: &str| {
        format!(
            "version: 1\nname: t\nsecrets:\n  pw: {{ env: PW }}\nconnections:\n  pool:\n    kind: xapi\n    \
             url: https://h\n    username: root\n    password: \"${{{{ secrets.pw }}}}\"\n    tls: {tls}\n\
             steps:\n  - id: a\n    uses: dr-copy\n"
        )
    };
    let (at, message) = only_error(&connection("{ verify: true, ca_file: /ca.pem }"));
    assert_eq!(at, "11:26");
    assert_eq!(message, "expected end of mapping after enum variant value");
    assert_eq!(
        only_error(&connection("{ fingerprint: \"sha256:abc\" }")),
        (
            "11:25".to_owned(),
            "`sha256:abc` is not a SHA-256 certificate fingerprint".to_owned()
        )
    );
    let pinned = Pipeline::parse(
        &connection(&format!(
            "{{ fingerprint: \"SHA256:{}\" }}",
            "AB:".repeat(31) + "AB"
        )),
        "p.yaml",
        BUILTINS,
    )
    .unwrap();
    let lifeboat_pipeline::model::Connection::Xapi(pool) = &pipeline_connection(&pinned) else {
        panic!("not xapi")
    };
    assert_eq!(
        pool.tls,
        lifeboat_pipeline::model::TlsPolicy::Pinned(lifeboat_net::tls::Fingerprint::from_sha256(
            [0xab; 32]
        ))
    );
}

fn pipeline_connection(pipeline: &Pipeline) -> lifeboat_pipeline::model::Connection {
    pipeline.connections["pool"].clone()
}

#[test]
fn secrets_come_from_exactly_one_place() {
    let (at, message) =
        only_error("version: 1\nname: t\nsecrets:\n  a: { env: A, file: /a }\nsteps: []\n");
    assert_eq!(
        (at.as_str(), message.as_str()),
        ("4:16", "expected end of mapping after enum variant value")
    );
    let (at, message) = only_error("version: 1\nname: t\nsecrets:\n  a: { value: x }\nsteps: []\n");
    assert_eq!(at, "4:8");
    assert_eq!(
        message,
        "unknown variant `value`, expected one of env, file"
    );
}

#[test]
fn digests_are_sha256_in_lowercase_hex() {
    let component = |digest: &str| {
        format!(
            "{HEAD}components:\n  pol: {{ path: p.wasm, digest: \"{digest}\" }}\nsteps:\n  - id: a\n    uses: pol\n"
        )
    };
    let upper = format!("sha256:{}", "AB".repeat(32));
    for digest in ["sha256:abc", "md5:0", upper.as_str()] {
        assert_eq!(
            only_error(&component(digest)),
            (
                "10:32".to_owned(),
                format!(
                    "`{digest}` is not a SHA-256 digest: expected `sha256:` followed by 64 lowercase hexadecimal digits"
                )
            )
        );
    }
    let good = format!("sha256:{}", "ab".repeat(32));
    let pipeline = Pipeline::parse(&component(&good), "p.yaml", BUILTINS).unwrap();
    assert_eq!(pipeline.components["pol"].digest.to_string(), good);
}

#[test]
fn durations_are_checked_wherever_they_are() {
    let text = format!(
        "{HEAD}defaults:\n  timeout: soon\n  retry: {{ interval: 5 }}\nsteps:\n  - id: a\n    uses: dr-copy\n    \
         timeout: 0s\n    retry: {{ max_attempts: 0, interval: 1x }}\n"
    );
    let invalid = invalid(&text);
    let found: Vec<(String, &str)> = invalid
        .diagnostics
        .iter()
        .map(|d| (place(d), d.message.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            (
                "10:12".to_owned(),
                "`soon` is not a duration: expected number at 0"
            ),
            (
                "11:22".to_owned(),
                "`5` is not a duration: time unit needed, for example 5sec or 5ms"
            ),
            (
                "15:14".to_owned(),
                "a timeout of zero would stop every run at once"
            ),
            ("16:28".to_owned(), "`max_attempts` must be at least 1"),
            (
                "16:41".to_owned(),
                "`1x` is not a duration: unknown time unit \"x\", supported units: ns, us/µs, ms, sec, min, \
                 hours, days, weeks, months, years (and few variations)"
            ),
        ]
    );
    assert_eq!(
        invalid.diagnostics[0].hint.as_deref(),
        Some("write a number and a unit: `90s`, `30m`, `6h`, `7d`")
    );
}

#[test]
fn cron_expressions_and_time_zones_are_checked() {
    let schedules = |schedule: &str| {
        format!("{HEAD}schedules:\n  nightly: {schedule}\nsteps:\n  - id: a\n    uses: dr-copy\n")
    };
    let (at, message) = only_error(&schedules("{ cron: \"0 2 * *\" }"));
    assert_eq!(at, "10:20");
    assert!(
        message.starts_with("`0 2 * *` is not a cron expression"),
        "{message}"
    );
    let (at, message) = only_error(&schedules("{ cron: \"0 0 2 * * * 2030\" }"));
    assert_eq!(at, "10:20");
    assert!(
        message.starts_with("`0 0 2 * * * 2030` is not a cron expression"),
        "{message}"
    );
    let (at, message) = only_error(&schedules("{ cron: \"61 2 * * *\" }"));
    assert_eq!(at, "10:20");
    assert!(
        message.starts_with("`61 2 * * *` is not a cron expression"),
        "{message}"
    );
    assert_eq!(
        only_error(&schedules(
            "{ cron: \"0 2 * * *\", timezone: Europe/Pariss }"
        )),
        (
            "10:43".to_owned(),
            "unknown time zone `Europe/Pariss`".to_owned()
        )
    );
    let seconds = Pipeline::parse(
        &schedules("{ cron: \"30 0 2 * * *\", timezone: Europe/Paris }"),
        "p.yaml",
        BUILTINS,
    )
    .unwrap();
    assert_eq!(
        seconds.schedules["nightly"].timezone,
        chrono_tz::Europe::Paris
    );
}

#[test]
fn with_references_are_checked_statically() {
    let text = with_steps(
        "  - id: a\n    uses: dr-copy\n    with:\n      vm: \"${{ item.uuid }}\"\n      \
         pw: \"pass ${{ secrets.pw }}\"\n      deep: { list: [ok, \"${{ jobs.id }}\"] }\n      \
         open: \"${{ run.id\"\n      expr: \"${{ run.id || 'x' }}\"\n",
    );
    let invalid = invalid(&text);
    let found: Vec<(String, &str)> = invalid
        .diagnostics
        .iter()
        .map(|d| (place(d), d.message.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            (
                "13:11".to_owned(),
                "`${{ item.uuid }}` needs `for_each`: this step does not run per VM"
            ),
            (
                "14:11".to_owned(),
                "`${{ secrets.pw }}` cannot be used in `with`: components never see secrets"
            ),
            ("15:26".to_owned(), "unknown reference `${{ jobs.id }}`"),
            ("16:13".to_owned(), "`${{` without its closing `}}`"),
            (
                "17:13".to_owned(),
                "`${{ run.id || 'x' }}` is not a reference: write a dotted name such as `item.uuid`"
            ),
        ]
    );
}

#[test]
fn max_parallel_is_for_for_each_steps_and_at_least_one() {
    let text = with_steps("  - id: a\n    uses: dr-copy\n    max_parallel: 3\n");
    assert_eq!(
        only_error(&text),
        (
            "12:19".to_owned(),
            "`max_parallel` applies only to a step with `for_each`".to_owned()
        )
    );
    let text =
        format!("{HEAD}defaults: {{ max_parallel: 0 }}\nsteps:\n  - id: a\n    uses: dr-copy\n");
    assert_eq!(
        only_error(&text),
        (
            "9:27".to_owned(),
            "`max_parallel` must be at least 1".to_owned()
        )
    );
}

#[test]
fn names_have_a_syntax() {
    let text = "version: 1\nname: t\nconnections:\n  \"my pool\": { kind: xapi, url: \"sim://p\" }\nsteps:\n  \
                - id: a\n    uses: dr-copy\n";
    assert_eq!(
        only_error(text),
        (
            "4:3".to_owned(),
            "`my pool` is not a valid connection name".to_owned()
        )
    );
}

#[test]
fn a_pipeline_needs_a_name_and_steps() {
    let invalid = invalid("version: 1\nname: \" \"\nsteps: []\n");
    let found: Vec<(String, &str)> = invalid
        .diagnostics
        .iter()
        .map(|d| (place(d), d.message.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            ("2:7".to_owned(), "the job's `name` is empty"),
            ("3:8".to_owned(), "a pipeline needs at least one step"),
        ]
    );
    let (at, message) = only_error("version: 1\nsteps: []\n");
    assert_eq!(at, "2:1");
    assert_eq!(message, "missing field `name`");
}

#[test]
fn every_problem_is_reported_in_file_order_with_its_place() {
    let text = "version: 3\nname: t\nconnections:\n  p: { kind: xapi, url: \"sim://p\" }\nschedules:\n  \
                s: { cron: nope }\nsteps:\n  - id: A\n    uses: x\n    allow: { xapi: [q] }\n";
    let invalid = invalid(text);
    assert_eq!(
        invalid.to_string(),
        "p.yaml:1:10: unsupported version 3: this Lifeboat reads version 1\n  hint: write `version: 1`\n\
         p.yaml:6:14: `nope` is not a cron expression: Invalid pattern: Pattern must have 5 or 6 fields when years are disallowed.\n  \
         hint: 5 fields: minute hour day-of-month month day-of-week, e.g. `0 2 * * *` (02:00 daily)\n\
         p.yaml:8:9: `A` is not a valid step id\n  \
         hint: a step id starts with a lowercase letter, then lowercase letters, digits, `_` or `-`\n\
         p.yaml:9:11: unknown component `x`\n  hint: built-in components: `dr-copy`, `keep-last`; declared under `components`: none\n\
         p.yaml:10:21: unknown connection `q`\n  hint: declared connections: `p`"
    );
}

#[test]
fn remotes_are_folders_or_s3_buckets_with_their_secret_in_secrets() {
    let pipeline = |connection: &str| {
        format!(
            "version: 1\nname: t\nsecrets:\n  s3: {{ env: S3_SECRET }}\nconnections:\n  \
             r: {connection}\nsteps:\n  - id: a\n    uses: dr-copy\n    allow: {{ remotes: [r] }}\n"
        )
    };
    let loaded = Pipeline::parse(
        &pipeline(
            "{ kind: remote, url: \"s3://s3.example.net:9000/backups/lifeboat?region=eu-west-3\", \
             username: AKIA, password: \"${{ secrets.s3 }}\" }",
        ),
        "p.yaml",
        BUILTINS,
    )
    .unwrap();
    let lifeboat_pipeline::model::Connection::Remote(remote) = &loaded.connections["r"] else {
        panic!("a remote")
    };
    let lifeboat_pipeline::model::RemoteUrl::S3(location) = &remote.url else {
        panic!("in S3")
    };
    assert_eq!(
        (
            location.endpoint.as_str(),
            location.bucket.as_str(),
            location.prefix.as_str()
        ),
        ("https://s3.example.net:9000", "backups", "lifeboat")
    );
    assert_eq!(remote.secret_key_secret.as_deref(), Some("s3"));
    assert_eq!(loaded.steps[0].grants.remotes, ["r"]);

    let folder = Pipeline::parse(
        &pipeline("{ kind: remote, url: \"file:///srv/backups\" }"),
        "p.yaml",
        BUILTINS,
    )
    .unwrap();
    let lifeboat_pipeline::model::Connection::Remote(remote) = &folder.connections["r"] else {
        panic!("a remote")
    };
    assert_eq!(
        remote.url,
        lifeboat_pipeline::model::RemoteUrl::Local("/srv/backups".into())
    );

    for (connection, at, message) in [
        (
            "{ kind: remote, url: \"s3://AKIA:hunter2@h/b\", password: \"${{ secrets.s3 }}\" }",
            "6:27",
            "the URL holds a secret key",
        ),
        (
            "{ kind: remote, url: \"s3://h/b\", username: AKIA }",
            "6:3",
            "connection `r` needs a secret key",
        ),
        (
            "{ kind: remote, url: \"s3://h/b\", password: \"${{ secrets.s3 }}\" }",
            "6:3",
            "connection `r` needs an access key",
        ),
        (
            "{ kind: remote, url: \"smb://h/share\" }",
            "6:27",
            "remote URL \"smb://h/share\": unknown scheme \"smb\": Lifeboat reaches local folders (file://, NFS and SMB shares once mounted) and S3 (s3://, s3+http://)",
        ),
        (
            "{ kind: remote, url: \"s3://h/b?allowUnauthorized=true\", username: k, password: \"${{ secrets.s3 }}\" }",
            "6:27",
            "`allowUnauthorized` in the URL would turn certificate checks off",
        ),
        (
            "{ kind: remote }",
            "6:3",
            "connection `r` needs a `url` or a `path`",
        ),
        (
            "{ kind: remote, url: \"file:///a\", path: /b }",
            "6:46",
            "a remote has a `url` or a `path`, not both",
        ),
        (
            "{ kind: remote, url: \"s3+http://h/b\", username: k, password: \"${{ secrets.s3 }}\", tls: { verify: false } }",
            "6:93",
            "`tls` applies only to `s3://` (HTTPS) URLs",
        ),
    ] {
        let (found_at, found) = only_error(&pipeline(connection));
        assert_eq!(
            (found_at.as_str(), found.as_str()),
            (at, message),
            "{connection}"
        );
        assert!(!found.contains("hunter2"));
    }
}

#[test]
fn clouds_log_in_as_a_user_or_an_application_credential_with_secrets_only() {
    let pipeline = |connection: &str, allow: &str| {
        format!(
            "version: 1\nname: t\nsecrets:\n  pw: {{ env: OS_PASSWORD }}\nconnections:\n  \
             c: {connection}\n  p: {{ kind: xapi, url: \"sim://p\" }}\nsteps:\n  - id: a\n    uses: dr-copy\n    allow: {allow}\n"
        )
    };
    let user = "{ kind: openstack, url: \"https://keystone.example:5000/v3\", username: backup, \
                password: \"${{ secrets.pw }}\", project: production, domain: Corp, region: RegionTwo }";
    let loaded = Pipeline::parse(&pipeline(user, "{ clouds: [c] }"), "p.yaml", BUILTINS).unwrap();
    let lifeboat_pipeline::model::Connection::Openstack(cloud) = &loaded.connections["c"] else {
        panic!("a cloud")
    };
    assert_eq!(cloud.auth_url.as_str(), "https://keystone.example:5000/v3");
    assert_eq!(
        (
            cloud.project.as_deref(),
            cloud.domain.as_str(),
            cloud.region.as_deref()
        ),
        (Some("production"), "Corp", Some("RegionTwo"))
    );
    assert_eq!(loaded.steps[0].grants.clouds, ["c"]);

    let credential = "{ kind: openstack, url: \"http://127.0.0.1/identity\", \
                      application_credential: 0f3a, password: \"${{ secrets.pw }}\" }";
    let loaded =
        Pipeline::parse(&pipeline(credential, "{ clouds: [c] }"), "p.yaml", BUILTINS).unwrap();
    let lifeboat_pipeline::model::Connection::Openstack(cloud) = &loaded.connections["c"] else {
        panic!("a cloud")
    };
    assert_eq!(cloud.domain, "Default");
    assert!(matches!(
        &cloud.credentials,
        lifeboat_pipeline::model::OpenstackCredentials::ApplicationCredential { id, .. } if id == "0f3a"
    ));

    for (connection, allow, at, message) in [
        (
            "{ kind: openstack, url: \"https://k/v3\", username: u, password: hunter2 }",
            "{ clouds: [c] }",
            "6:69",
            "a password cannot be written in the pipeline file",
        ),
        (
            "{ kind: openstack, url: \"https://k/v3\", username: u }",
            "{ clouds: [c] }",
            "6:3",
            "connection `c` needs a `password`",
        ),
        (
            "{ kind: openstack, url: \"https://k/v3\", password: \"${{ secrets.pw }}\" }",
            "{ clouds: [c] }",
            "6:3",
            "connection `c` needs a `username` or an `application_credential`",
        ),
        (
            "{ kind: openstack, url: \"https://k/v3\", application_credential: a, project: x, password: \"${{ secrets.pw }}\" }",
            "{ clouds: [c] }",
            "6:82",
            "an application credential is bound to its project and takes no `project`",
        ),
        (
            "{ kind: openstack, url: \"sim://east\", username: u, password: \"${{ secrets.pw }}\" }",
            "{ clouds: [c] }",
            "6:30",
            "unsupported URL scheme `sim`",
        ),
        (
            "{ kind: xapi, url: \"sim://q\", region: RegionOne }",
            "{ xapi: [c] }",
            "6:44",
            "`region` does not apply to a connection of kind `xapi`",
        ),
        (
            "{ kind: openstack, url: \"https://k/v3\", username: u, password: \"${{ secrets.pw }}\" }",
            "{ xapi: [c] }",
            "11:21",
            "`c` is a connection of kind `openstack`; `allow.xapi` lists connections of kind `xapi`",
        ),
        (
            "{ kind: openstack, url: \"https://k/v3\", username: u, password: \"${{ secrets.pw }}\" }",
            "{ clouds: [p] }",
            "11:23",
            "`p` is a connection of kind `xapi`; `allow.clouds` lists connections of kind `openstack`",
        ),
    ] {
        let (found_at, found) = only_error(&pipeline(connection, allow));
        assert_eq!(
            (found_at.as_str(), found.as_str()),
            (at, message),
            "{connection}"
        );
        assert!(!found.contains("hunter2"));
    }
    let misplaced = pipeline(
        "{ kind: openstack, url: \"https://k/v3\", username: u, password: \"${{ secrets.pw }}\" }",
        "{ xapi: [c] }",
    );
    assert_eq!(hint(&misplaced), "list it under `allow.clouds`");
}
