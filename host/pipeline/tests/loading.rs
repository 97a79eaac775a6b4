//! Loading valid pipelines: the example, paths relative to the file, defaults, ids, and the
//! path from a file to a step's JSON parameters and a connection's credentials.

use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::time::Duration;

use lifeboat_pipeline::model::{
    ComponentRef, Connection, ItemContext, SecretSource, SubstitutionContext, TlsPolicy, VmFilter,
};
use lifeboat_pipeline::{Pipeline, ResolvedConnection, ids, resolve_connections};
use serde_json::json;

const BUILTINS: &[&str] = &["dr-copy", "keep-last"];

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(name)
}

#[test]
fn the_dr_copy_example_loads() {
    let pipeline = Pipeline::load(&example("dr-copy.yaml"), BUILTINS).unwrap();
    assert_eq!(pipeline.name, "nightly-dr");
    assert_eq!(pipeline.id, ids::default_job_id("nightly-dr"));
    assert_eq!(
        pipeline.schedules["nightly"].timezone,
        chrono_tz::Europe::Paris
    );
    let [step] = pipeline.steps.as_slice() else {
        panic!("{:?}", pipeline.steps)
    };
    assert_eq!(step.uses, ComponentRef::Builtin("dr-copy".to_owned()));
    assert_eq!(step.grants.xapi, ["production", "recovery"]);
    let selection = step.for_each.as_ref().unwrap();
    assert_eq!(selection.pool, "production");
    assert_eq!(selection.filter, VmFilter::Tags(vec!["prod".to_owned()]));
    for name in ["production", "recovery"] {
        let Connection::Xapi(pool) = &pipeline.connections[name] else {
            panic!("{name}")
        };
        assert_eq!(pool.url.as_str(), format!("sim://{name}"));
        assert_eq!(pool.username, None);
    }
    let context = SubstitutionContext {
        job_id: &pipeline.id,
        job_name: &pipeline.name,
        run_id: "run-1",
        schedule_id: Some(&pipeline.schedules["nightly"].id),
        item: Some(ItemContext {
            uuid: "5a7e3c9d-2b1f-4e6a-8d0c-1f2e3d4c5b6a",
            name_label: "web01",
            pool: "production",
        }),
    };
    assert_eq!(
        step.with.substitute(&context).unwrap(),
        json!({
            "vm": "5a7e3c9d-2b1f-4e6a-8d0c-1f2e3d4c5b6a",
            "source": "production",
            "target": "recovery",
            "sr": "7dfd060c-87ff-5eca-ae5f-57fc4e8af20e",
            "settings": { "": { "copyRetention": 1 } },
        })
    );
}

#[test]
fn relative_paths_are_relative_to_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let digest = format!("sha256:{}", "0".repeat(64));
    let text = format!(
        "version: 1\nname: t\nsecrets:\n  pw: {{ file: secrets/pw }}\n  abs: {{ file: /run/secrets/abs }}\n\
         connections:\n  store: {{ kind: fs, path: backups }}\n  pool:\n    kind: xapi\n    url: https://h\n    \
         username: root\n    password: \"${{{{ secrets.pw }}}}\"\n    tls: {{ ca_file: ca.pem }}\n\
         components:\n  policy: {{ path: policies/p.wasm, digest: \"{digest}\" }}\n\
         steps:\n  - id: a\n    uses: policy\n"
    );
    let path = dir.path().join("p.yaml");
    std::fs::write(&path, &text).unwrap();
    let loaded = Pipeline::load(&path, BUILTINS).unwrap();
    assert_eq!(
        loaded.components["policy"].path,
        dir.path().join("policies/p.wasm")
    );
    assert_eq!(
        loaded.secrets["pw"],
        SecretSource::File(dir.path().join("secrets/pw"))
    );
    assert_eq!(
        loaded.secrets["abs"],
        SecretSource::File("/run/secrets/abs".into())
    );
    let Connection::Remote(store) = &loaded.connections["store"] else {
        panic!()
    };
    assert_eq!(
        store.url,
        lifeboat_pipeline::model::RemoteUrl::Local(dir.path().join("backups"))
    );
    let Connection::Xapi(pool) = &loaded.connections["pool"] else {
        panic!()
    };
    assert_eq!(pool.tls, TlsPolicy::CaBundle(dir.path().join("ca.pem")));

    // Parsed from text, paths stay as written.
    let parsed = Pipeline::parse(&text, "p.yaml", BUILTINS).unwrap();
    assert_eq!(
        parsed.components["policy"].path,
        Path::new("policies/p.wasm")
    );
}

#[test]
fn steps_take_the_defaults_they_do_not_set() {
    let text = "version: 1\nname: t\nconnections:\n  p: { kind: xapi, url: \"sim://p\" }\n\
                defaults:\n  timeout: 2h\n  retry: { max_attempts: 3 }\n  max_parallel: 4\n\
                steps:\n  - id: inherits\n    uses: dr-copy\n    allow: { xapi: [p] }\n    \
                for_each: { vms: { pool: p, tags: [x] } }\n  \
                - id: overrides\n    uses: dr-copy\n    allow: { xapi: [p] }\n    \
                for_each: { vms: { pool: p, tags: [x] } }\n    max_parallel: 1\n    timeout: 90s\n    \
                retry: { interval: 5m }\n    continue_on_error: true\n    retention: keep-last\n";
    let pipeline = Pipeline::parse(text, "p.yaml", BUILTINS).unwrap();
    let [inherits, overrides] = pipeline.steps.as_slice() else {
        panic!()
    };
    assert_eq!(inherits.max_parallel, NonZeroU32::new(4).unwrap());
    assert_eq!(inherits.timeout, Some(Duration::from_secs(7200)));
    assert_eq!(inherits.retry.max_attempts, NonZeroU32::new(3).unwrap());
    assert_eq!(inherits.retry.interval, Duration::from_secs(30));
    assert!(!inherits.continue_on_error);
    assert_eq!(inherits.retention, None);
    assert_eq!(overrides.max_parallel, NonZeroU32::MIN);
    assert_eq!(overrides.timeout, Some(Duration::from_secs(90)));
    assert_eq!(overrides.retry.max_attempts, NonZeroU32::new(3).unwrap());
    assert_eq!(overrides.retry.interval, Duration::from_secs(300));
    assert!(overrides.continue_on_error);
    assert_eq!(
        overrides.retention,
        Some(ComponentRef::Builtin("keep-last".to_owned()))
    );

    let bare = Pipeline::parse(
        "version: 1\nname: t\nsteps:\n  - id: a\n    uses: dr-copy\n",
        "p.yaml",
        BUILTINS,
    )
    .unwrap();
    let step = &bare.steps[0];
    assert_eq!((step.max_parallel.get(), step.timeout), (2, None));
    assert_eq!(
        (step.retry.max_attempts.get(), step.retry.interval),
        (1, Duration::from_secs(30))
    );
}

#[test]
fn ids_default_to_stable_uuids_and_can_be_set() {
    let text = |id: &str| {
        format!(
            "version: 1\nname: nightly-dr\n{id}schedules:\n  nightly: {{ cron: \"0 2 * * *\" }}\n  \
             weekly: {{ cron: \"0 3 * * 0\", id: weekly-xo }}\nsteps:\n  - id: a\n    uses: dr-copy\n"
        )
    };
    let first = Pipeline::parse(&text(""), "p.yaml", BUILTINS).unwrap();
    let second = Pipeline::parse(&text(""), "p.yaml", BUILTINS).unwrap();
    assert_eq!(first.id, second.id);
    assert_eq!(first.id, ids::default_job_id("nightly-dr"));
    assert_eq!(
        first.schedules["nightly"].id,
        ids::default_schedule_id(&first.id, "nightly")
    );
    assert_eq!(
        first.schedules["nightly"].id,
        second.schedules["nightly"].id
    );
    assert_eq!(first.schedules["nightly"].timezone, chrono_tz::UTC);
    assert_eq!(first.schedules["weekly"].id, "weekly-xo");

    let adopted = Pipeline::parse(&text("id: 5f0c1b2a-xo-job\n"), "p.yaml", BUILTINS).unwrap();
    assert_eq!(adopted.id, "5f0c1b2a-xo-job");
    assert_eq!(
        adopted.schedules["nightly"].id,
        ids::default_schedule_id("5f0c1b2a-xo-job", "nightly")
    );
}

#[test]
fn vms_by_pattern_are_vms_by_uuid() {
    let step = |vms: &str| {
        format!(
            "version: 1\nname: t\nconnections:\n  p: {{ kind: xapi, url: \"sim://p\" }}\nsteps:\n  - id: a\n    \
             uses: dr-copy\n    allow: {{ xapi: [p] }}\n    for_each:\n      vms: {{ pool: p, {vms} }}\n"
        )
    };
    let one = "0f5d5f1e-3c2b-4a1d-9e8f-7a6b5c4d3e2f";
    let two = "1a2b3c4d-5e6f-4a8b-9c0d-1e2f3a4b5c6d";
    let filter = |vms: &str| {
        Pipeline::parse(&step(vms), "p.yaml", BUILTINS)
            .unwrap()
            .steps[0]
            .for_each
            .clone()
            .unwrap()
            .filter
    };
    let uuids =
        |list: &[&str]| VmFilter::Uuids(list.iter().map(|uuid| uuid.parse().unwrap()).collect());
    assert_eq!(
        filter(&format!("uuids: [{one}, {two}]")),
        uuids(&[one, two])
    );
    assert_eq!(
        filter(&format!("pattern: {{ id: {{ __or: [{one}, {two}] }} }}")),
        uuids(&[one, two])
    );
    assert_eq!(filter(&format!("pattern: {{ id: {one} }}")), uuids(&[one]));
}

#[test]
fn connections_resolve_with_their_secrets_masked() {
    let text = "version: 1\nname: t\nsecrets:\n  user: { env: LIFEBOAT_TEST_UNSET_USER }\n  pw: { file: pw }\n\
                connections:\n  pool:\n    kind: xapi\n    url: https://10.0.0.2\n    username: root\n    \
                password: \"${{ secrets.pw }}\"\n    tls: { verify: false }\nsteps:\n  - id: a\n    uses: dr-copy\n";
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pw"), "correct horse\n").unwrap();
    let path = dir.path().join("p.yaml");
    std::fs::write(&path, text).unwrap();
    let pipeline = Pipeline::load(&path, BUILTINS).unwrap();

    let unresolved = lifeboat_pipeline::resolve_secrets(&pipeline).unwrap_err();
    assert_eq!(
        unresolved.to_string(),
        "secret `user` (environment variable LIFEBOAT_TEST_UNSET_USER): not set"
    );

    let without_user = text.replace("  user: { env: LIFEBOAT_TEST_UNSET_USER }\n", "");
    std::fs::write(&path, without_user).unwrap();
    let pipeline = Pipeline::load(&path, BUILTINS).unwrap();
    let secrets = lifeboat_pipeline::resolve_secrets(&pipeline).unwrap();
    let connections = resolve_connections(&pipeline, &secrets).unwrap();
    let ResolvedConnection::Xapi(pool) = &connections["pool"] else {
        panic!()
    };
    assert_eq!(pool.username.as_deref(), Some("root"));
    assert_eq!(pool.password.as_ref().unwrap().expose(), "correct horse");
    assert_eq!(pool.tls, TlsPolicy::Insecure);
    assert!(!format!("{pool:?}").contains("correct horse"));
    assert_eq!(
        secrets
            .masker()
            .mask("login failed for root with correct horse"),
        "login failed for root with ***"
    );
}
