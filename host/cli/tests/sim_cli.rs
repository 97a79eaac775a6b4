//! `lifeboat sim` end to end: serve the example fixture, log in over XML-RPC at the printed URL
//! with the printed credentials, stop it with Ctrl-C (the state saved), and the help text.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use lifeboat_xapi::records::Vm;
use lifeboat_xapi::wire::Encoding;
use lifeboat_xapi::{Client, ConnectOptions, Value};
use url::Url;

fn example_fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/sim-pools.yaml")
}

/// What `lifeboat sim serve` printed: each pool's (name, URL, username, password), and the
/// control URL.
struct Served {
    pools: Vec<(String, String, String, String)>,
    control: String,
}

fn serve(args: &[&str]) -> (Child, Served) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_lifeboat"))
        .args(["sim", "serve"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut pools = Vec::new();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    for line in stdout.lines() {
        let line = line.unwrap();
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            [
                "pool",
                name,
                url,
                "username",
                username,
                "password",
                password,
            ] => pools.push((
                name.to_string(),
                url.to_string(),
                username.to_string(),
                password.to_string(),
            )),
            ["host", _, _] => {}
            ["control", url] => {
                let control = url.to_string();
                return (child, Served { pools, control });
            }
            _ => panic!("unexpected output line {line:?}"),
        }
    }
    panic!("lifeboat sim serve ended before printing its addresses");
}

/// Sends Ctrl-C and waits for a clean exit.
fn interrupt(mut child: Child) {
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "lifeboat sim serve exited with {status}");
            return;
        }
        assert!(
            Instant::now() < deadline,
            "Ctrl-C did not stop the simulator"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn block_on<T>(future: impl Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

#[test]
fn serves_the_example_fixture_and_saves_it_on_ctrl_c() {
    let state = tempfile::tempdir().unwrap();
    let fixture = example_fixture();
    let (child, served) = serve(&[
        "--fixture",
        fixture.to_str().unwrap(),
        "--state",
        state.path().to_str().unwrap(),
    ]);
    let names: Vec<&str> = served.pools.iter().map(|p| p.0.as_str()).collect();
    assert_eq!(names, ["production", "recovery"]);
    assert!(served.control.starts_with("http://127.0.0.1:"));
    let (_, url, username, password) = &served.pools[0];
    assert_eq!(password, "production-secret");

    block_on(async {
        let mut options = ConnectOptions::new(
            Url::parse(url).unwrap(),
            username.as_str(),
            password.as_str(),
        );
        options.encoding = Some(Encoding::Xml);
        let client = Client::connect(options).await.expect("login over XML-RPC");
        let vms = client.get_all_records::<Vm>().await.unwrap();
        let (db01, _) = vms.iter().find(|(_, vm)| vm.name_label == "db01").unwrap();
        client
            .set_field(
                db01,
                "name_description",
                Value::string("changed before Ctrl-C"),
            )
            .await
            .unwrap();
    });
    interrupt(child);
    let saved = std::fs::read_to_string(state.path().join("production/db.json")).unwrap();
    assert!(saved.contains("changed before Ctrl-C"));
}

#[test]
fn help_describes_every_option_and_the_control_api() {
    let output = Command::new(env!("CARGO_BIN_EXE_lifeboat"))
        .args(["sim", "serve", "--help"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    for expected in [
        "--fixture",
        "built-in fixture",
        "--listen",
        "127.0.0.1:0",
        "--state",
        "temporary folder",
        "--control",
        "POST   /pools/NAME/faults",
        "unresponsive",
        "Examples:",
    ] {
        assert!(
            help.contains(expected),
            "{expected:?} missing from:\n{help}"
        );
    }
}

#[test]
fn the_builtin_fixture_is_printed() {
    let output = Command::new(env!("CARGO_BIN_EXE_lifeboat"))
        .args(["sim", "fixture"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.contains("name: production"), "{text}");
}
