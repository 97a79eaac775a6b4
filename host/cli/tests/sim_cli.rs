//! `lifeboat sim` end to end: serve the example fixtures, log in over XML-RPC at the printed URL
//! with the printed credentials, reach each printed cloud's Keystone, stop it with Ctrl-C (the
//! state saved), and the help text.

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

/// What `lifeboat sim serve` printed: each pool's (name, URL, username, password), each cloud's
/// (name, auth URL, user names), and the control URL.
struct Served {
    pools: Vec<(String, String, String, String)>,
    clouds: Vec<(String, String, Vec<String>)>,
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
    let mut clouds: Vec<(String, String, Vec<String>)> = Vec::new();
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
            ["cloud", name, url, "region", _] => {
                clouds.push((name.to_string(), url.to_string(), Vec::new()));
            }
            ["user", name, "password", _] => {
                let cloud = clouds.last_mut().expect("users follow their cloud");
                cloud.2.push(name.to_string());
            }
            ["control", url] => {
                let control = url.to_string();
                return (
                    child,
                    Served {
                        pools,
                        clouds,
                        control,
                    },
                );
            }
            _ => panic!("unexpected output line {line:?}"),
        }
    }
    panic!("lifeboat sim serve ended before printing its addresses");
}

/// A plain HTTP/1.1 GET: the whole answer as text.
fn http_get(url: &str) -> String {
    use std::io::{Read, Write};
    let url = Url::parse(url).unwrap();
    let address = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap());
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    write!(
        stream,
        "GET {} HTTP/1.1\r\nHost: sim\r\nConnection: close\r\n\r\n",
        url.path()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
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
    let clouds: Vec<&str> = served.clouds.iter().map(|c| c.0.as_str()).collect();
    assert_eq!(clouds, ["east", "west"], "the example clouds by default");
    assert_eq!(served.clouds[0].2, ["admin", "alice", "bob"]);
    for (_, auth_url, _) in &served.clouds {
        let document = http_get(auth_url);
        assert!(document.starts_with("HTTP/1.1 200"), "{document}");
        assert!(document.contains("\"v3.14\""), "{document}");
    }

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
        "--clouds",
        "--cloud-listen",
        "/_sim/clock/advance",
        "expire_tokens",
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
