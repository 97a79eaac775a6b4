//! Builds Lifeboat's WebAssembly components as part of the ordinary `cargo build`, `cargo test`
//! and `cargo clippy` of the root workspace: the `components/` workspace and the example
//! retention policy, for `wasm32-wasip2`, in release.
//!
//! The nested cargo runs with an environment cleaned of what the outer cargo and its wrappers
//! (clippy, sccache) set for this script, so that it builds for its own target with its own
//! flags, into `<target>/wasm`. Its `.wasm` files land in one directory, which the crate
//! receives as `LIFEBOAT_COMPONENTS_DIR`.

use std::env;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Output};

/// The target every component is built for.
const WASM_TARGET: &str = "wasm32-wasip2";

/// The cargo workspaces to build, relative to the repository's root.
const WORKSPACES: &[&str] = &["components", "examples/retention-policies/keep-daily"];

fn main() -> ExitCode {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("the crate lies at host/builtins");
    let target_dir = wasm_target_dir();
    watch(root);
    let built = ensure_target().and_then(|()| {
        WORKSPACES
            .iter()
            .try_for_each(|workspace| build(&root.join(workspace), &target_dir))
    });
    if let Err(message) = built {
        eprintln!("error: {message}");
        return ExitCode::FAILURE;
    }
    let components = target_dir.join(WASM_TARGET).join("release");
    println!(
        "cargo:rustc-env=LIFEBOAT_COMPONENTS_DIR={}",
        components.display()
    );
    ExitCode::SUCCESS
}

/// `<target>/wasm`: `OUT_DIR` is `<target>/<profile>/build/<package>-<hash>/out`, and one
/// directory shared by every profile builds the components once.
fn wasm_target_dir() -> PathBuf {
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    out_dir
        .ancestors()
        .nth(4)
        .expect("OUT_DIR lies four levels under the target directory")
        .join("wasm")
}

/// Asks cargo to run this script again when the WIT or a source of the built workspaces
/// changes. Each workspace's entries are watched one by one, leaving out its `target`, where
/// native test builds would otherwise trigger a rebuild every time.
fn watch(root: &Path) {
    println!("cargo:rerun-if-changed={}", root.join("wit").display());
    for workspace in WORKSPACES {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(root.join(workspace))
            .and_then(|entries| entries.map(|entry| Ok(entry?.path())).collect())
            .unwrap_or_else(|error| panic!("cannot list {workspace}: {error}"));
        entries.sort();
        for path in entries {
            if path.file_name() != Some(OsStr::new("target")) {
                println!("cargo:rerun-if-changed={}", path.display());
            }
        }
    }
}

/// The toolchain that builds the guests when it is not the outer build's own:
/// `LIFEBOAT_GUEST_TOOLCHAIN` (say `stable`), for outer builds whose toolchain cannot target
/// `wasm32-wasip2` (scripts/fuzz builds with a nightly that rustup has no such target for).
fn guest_toolchain() -> Option<String> {
    println!("cargo:rerun-if-env-changed=LIFEBOAT_GUEST_TOOLCHAIN");
    env::var("LIFEBOAT_GUEST_TOOLCHAIN")
        .ok()
        .filter(|name| !name.is_empty())
}

/// A command running `tool` (`rustc` or `cargo`) of the guests' toolchain: the outer build's
/// (as cargo names it in `RUSTC` / `CARGO`), or [`guest_toolchain`]'s through rustup.
fn guest_tool(tool: &str, outer: &str) -> Command {
    match guest_toolchain() {
        Some(toolchain) => {
            let mut command = Command::new("rustup");
            command.args(["run", &toolchain, tool]);
            // The outer toolchain's choices must not reach the other one.
            command.env_remove("RUSTC").env_remove("RUSTUP_TOOLCHAIN");
            command
        }
        None => Command::new(env::var_os(outer).unwrap_or_else(|| tool.into())),
    }
}

/// Installs the standard library for `wasm32-wasip2` with rustup when the compiler lacks it.
fn ensure_target() -> Result<(), String> {
    let libdir = guest_tool("rustc", "RUSTC")
        .args(["--print", "target-libdir", "--target", WASM_TARGET])
        .output()
        .map_err(|error| format!("cannot run rustc: {error}"))?;
    let libdir = PathBuf::from(String::from_utf8_lossy(&libdir.stdout).trim());
    if libdir.is_dir() {
        return Ok(());
    }
    println!("cargo:warning=installing the {WASM_TARGET} target: rustup target add {WASM_TARGET}");
    let mut rustup = Command::new("rustup");
    rustup.args(["target", "add", WASM_TARGET]);
    if let Some(toolchain) = guest_toolchain() {
        rustup.args(["--toolchain", &toolchain]);
    }
    let installed = rustup.output().map_err(|error| {
        format!(
            "the {WASM_TARGET} target is missing and rustup cannot be run ({error}): \
                 install the target's standard library for this compiler"
        )
    })?;
    succeeded(&installed, &format!("rustup target add {WASM_TARGET}"))
}

/// Builds the cargo workspace at `dir` for `wasm32-wasip2`, in release, into `target_dir`.
fn build(dir: &Path, target_dir: &Path) -> Result<(), String> {
    let mut command = guest_tool("cargo", "CARGO");
    command
        .current_dir(dir)
        .args(["build", "--release", "--locked", "--target", WASM_TARGET])
        .arg("--target-dir")
        .arg(target_dir);
    for (name, _) in env::vars_os() {
        if name.to_str().is_some_and(leaks_into_nested_cargo) {
            command.env_remove(name);
        }
    }
    let output = command
        .output()
        .map_err(|error| format!("cannot run cargo: {error}"))?;
    succeeded(
        &output,
        &format!("building the components of {}", dir.display()),
    )
}

/// Whether the variable `name`, set for this script, must not reach the nested cargo.
///
/// Cargo sets many `CARGO_*` variables for build scripts (the package's, the features, the
/// target's cfg, `CARGO_ENCODED_RUSTFLAGS`, `CARGO_MAKEFLAGS`, …) and a user may set
/// `CARGO_TARGET_DIR` or `CARGO_BUILD_TARGET`: all go, except `CARGO_HOME` and the network
/// and registry settings, which the nested cargo needs to fetch its dependencies as the outer
/// one did. Wrappers (clippy's, sccache's), flags meant for the host target and the variables
/// of this script's own build go too.
fn leaks_into_nested_cargo(name: &str) -> bool {
    const KEPT_CARGO_PREFIXES: &[&str] = &[
        "CARGO_HOME",
        "CARGO_NET_",
        "CARGO_HTTP_",
        "CARGO_REGISTRIES_",
        "CARGO_REGISTRY_",
        "CARGO_TERM_",
    ];
    const REMOVED: &[&str] = &[
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "RUSTFLAGS",
        "RUSTDOCFLAGS",
        "RUSTC_LINKER",
        "TARGET",
        "HOST",
        "OUT_DIR",
        "OPT_LEVEL",
        "DEBUG",
        "PROFILE",
        "NUM_JOBS",
    ];
    let cargo_variable = (name.starts_with("CARGO_") || name.starts_with("__CARGO"))
        && !KEPT_CARGO_PREFIXES
            .iter()
            .any(|prefix| name.starts_with(prefix));
    cargo_variable || REMOVED.contains(&name)
}

/// `Ok` if the command succeeded; otherwise what it printed, and what was being done.
fn succeeded(output: &Output, what: &str) -> Result<(), String> {
    if output.status.success() {
        return Ok(());
    }
    Err(format!(
        "{what} failed ({}):\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    ))
}
