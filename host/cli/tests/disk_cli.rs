//! `lifeboat disk` end to end: each subcommand on real files, its exit codes and its messages.

use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const MIB: u64 = 1024 * 1024;

fn lifeboat(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lifeboat"))
        .args(args)
        .output()
        .unwrap()
}

fn ok(args: &[&str]) -> String {
    let out = lifeboat(args);
    assert!(
        out.status.success(),
        "lifeboat {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn fails(args: &[&str]) -> String {
    let out = lifeboat(args);
    assert_eq!(
        out.status.code(),
        Some(1),
        "lifeboat {args:?} should fail with 1"
    );
    String::from_utf8(out.stderr).unwrap()
}

/// A sparse raw image with a pattern (not zeros) at `extents`.
fn raw(path: &Path, size: u64, extents: &[(u64, u64)], seed: u8) -> PathBuf {
    let file = std::fs::File::create(path).unwrap();
    file.set_len(size).unwrap();
    for &(offset, len) in extents {
        let data: Vec<u8> = (0..len)
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) | 1)
            .collect();
        file.write_all_at(&data, offset).unwrap();
    }
    path.to_path_buf()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn every_command_explains_itself() {
    for args in [
        vec!["--help"],
        vec!["disk", "--help"],
        vec!["disk", "info", "--help"],
        vec!["disk", "check", "--help"],
        vec!["disk", "convert", "--help"],
        vec!["disk", "diff", "--help"],
        vec!["disk", "merge", "--help"],
        vec!["disk", "xva", "--help"],
        vec!["disk", "xva", "pack", "--help"],
        vec!["disk", "xva", "unpack", "--help"],
        vec!["disk", "xva", "check", "--help"],
    ] {
        let text = ok(&args);
        assert!(text.contains("Usage:"), "{args:?}: {text}");
        assert!(text.lines().count() > 5, "{args:?} says too little: {text}");
    }
    assert_eq!(
        lifeboat(&["disk", "convert"]).status.code(),
        Some(2),
        "usage errors exit 2"
    );
}

#[test]
fn convert_info_check_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let input = raw(
        &dir.path().join("in.raw"),
        20 * MIB,
        &[(MIB, 3 * MIB), (15 * MIB, 4096)],
        1,
    );
    let vhd = dir.path().join("disk.vhd");
    ok(&["disk", "convert", s(&input), s(&vhd)]);
    let info: serde_json::Value =
        serde_json::from_str(&ok(&["disk", "info", s(&vhd), "--json"])).unwrap();
    assert_eq!(info["type"], "dynamic");
    assert_eq!(info["virtual_size"], 20 * MIB);
    assert_eq!(info["block_size"], 2 * MIB);
    assert_eq!(info["allocated_blocks"], 3);
    assert_eq!(info["total_blocks"], 10);
    assert!(ok(&["disk", "check", s(&vhd)]).contains("ok"));

    let alias = dir.path().join("disk.alias.vhd");
    ok(&["disk", "convert", s(&vhd), s(&alias)]);
    let back = dir.path().join("back.raw");
    ok(&["disk", "convert", s(&alias), s(&back)]);
    assert_eq!(
        std::fs::read(&input).unwrap(),
        std::fs::read(&back).unwrap()
    );

    let err = fails(&["disk", "convert", s(&input), s(&vhd)]);
    assert!(
        err.contains("already exists") && err.contains("--force"),
        "{err}"
    );
    let err = fails(&["disk", "convert", s(&input), s(&dir.path().join("x.qcow2"))]);
    assert!(err.contains("--to"), "{err}");
}

#[test]
fn check_names_the_damaged_field() {
    let dir = tempfile::tempdir().unwrap();
    let input = raw(&dir.path().join("in.raw"), 8 * MIB, &[(0, MIB)], 2);
    let vhd = dir.path().join("disk.vhd");
    ok(&["disk", "convert", s(&input), s(&vhd)]);
    std::fs::OpenOptions::new()
        .write(true)
        .open(&vhd)
        .unwrap()
        .write_all_at(&[0xAB], 600)
        .unwrap();
    let err = fails(&["disk", "check", s(&vhd)]);
    assert!(
        err.contains("disk.vhd") && err.contains("header") && err.contains("checksum"),
        "{err}"
    );
    let err = fails(&["disk", "info", s(&dir.path().join("missing.vhd"))]);
    assert!(err.contains("missing.vhd"), "{err}");
}

#[test]
fn diff_then_merge_gives_the_new_disk() {
    let dir = tempfile::tempdir().unwrap();
    let base_raw = raw(&dir.path().join("base.raw"), 16 * MIB, &[(0, 6 * MIB)], 3);
    let new_raw = raw(
        &dir.path().join("new.raw"),
        16 * MIB,
        &[(0, 6 * MIB), (9 * MIB, MIB)],
        3,
    );
    std::fs::OpenOptions::new()
        .write(true)
        .open(&new_raw)
        .unwrap()
        .write_all_at(&[7; 512], 512)
        .unwrap();
    let base = dir.path().join("base.vhd");
    ok(&["disk", "convert", s(&base_raw), s(&base)]);
    let child = dir.path().join("child.vhd");
    let out = ok(&["disk", "diff", s(&base), s(&new_raw), s(&child)]);
    assert!(out.contains("2 changed blocks"), "{out}");
    assert!(ok(&["disk", "check", "--chain", s(&child)]).contains("2 disk(s)"));
    let info: serde_json::Value =
        serde_json::from_str(&ok(&["disk", "info", "--json", s(&child)])).unwrap();
    assert_eq!(info["type"], "differencing");
    assert_eq!(info["parent_name"], "base.vhd");

    assert!(ok(&["disk", "merge", s(&child)]).contains("merged"));
    assert!(!base.exists());
    let back = dir.path().join("back.raw");
    ok(&["disk", "convert", s(&child), s(&back)]);
    assert_eq!(
        std::fs::read(&new_raw).unwrap(),
        std::fs::read(&back).unwrap()
    );
    assert!(ok(&["disk", "merge", s(&child)]).contains("nothing to merge"));
}

#[test]
fn xva_pack_check_unpack_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let a = raw(
        &dir.path().join("a.raw"),
        5 * MIB + 512,
        &[(2 * MIB, MIB)],
        4,
    );
    let b_raw = raw(&dir.path().join("b.raw"), 3 * MIB, &[(0, 4096)], 5);
    let b = dir.path().join("b.vhd");
    ok(&["disk", "convert", s(&b_raw), s(&b)]);
    for compression in ["none", "gzip", "zstd"] {
        let xva = dir.path().join(format!("vm-{compression}.xva"));
        ok(&[
            "disk",
            "xva",
            "pack",
            s(&xva),
            s(&a),
            s(&b),
            "--name",
            "web01",
            "--compression",
            compression,
        ]);
        assert!(ok(&["disk", "xva", "check", s(&xva)]).contains("2 disk(s)"));
        let out = dir.path().join(format!("out-{compression}"));
        ok(&["disk", "xva", "unpack", s(&xva), s(&out)]);
        assert_eq!(
            std::fs::read(&a).unwrap(),
            std::fs::read(out.join("disk0.raw")).unwrap()
        );
        assert_eq!(
            std::fs::read(&b_raw).unwrap(),
            std::fs::read(out.join("disk1.raw")).unwrap()
        );
        assert!(
            std::fs::read_to_string(out.join("ova.xml"))
                .unwrap()
                .contains("web01")
        );
    }
    let xva = dir.path().join("vm-none.xva");
    let len = std::fs::metadata(&xva).unwrap().len();
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&xva)
        .unwrap();
    // Flip a byte inside the first data chunk (after ova.xml's header and content).
    let mut probe = vec![0u8; len as usize];
    file.read_exact_at(&mut probe, 0).unwrap();
    let chunk_header = probe.windows(7).position(|w| w == b"/000000").unwrap();
    let data_at = (chunk_header / 512 + 1) * 512 + 100;
    file.write_all_at(&[probe[data_at] ^ 0xFF], data_at as u64)
        .unwrap();
    let err = fails(&["disk", "xva", "check", s(&xva)]);
    assert!(err.contains("checksum"), "{err}");
}
