//! Merging a VHD chain the Xen Orchestra way, resumable after a crash at any moment.
//!
//! For a chain `[parent, child₁, …, childₙ]` (oldest first): every block that a child holds is
//! written, whole and as the children compose it, into the parent; the parent takes childₙ's
//! footer values (size, geometry, timestamp, uuid); then the intermediate children are deleted and
//! the parent is renamed over childₙ, so that whatever pointed at childₙ now finds the merged disk.
//!
//! Progress lives in `.<parent file name>.merge.json` beside the parent (Xen Orchestra's state
//! file): written at the start, every [`MergeOptions::state_interval`] and when the blocks are
//! done; the parent is made durable before each save. Copying a block is idempotent (the children do not change until the cleanup), so resuming
//! from the saved block gives the same bytes however much was done after it.

use std::ops::ControlFlow;
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::chain::{compose_block, open_layers, parent_path};
use super::directory::resolve_alias;
use super::image::{Vhd, VhdWrite, bitmap_is_full, block_count};
use super::open::{is_alias, open_vhd, open_vhd_for_write};
use crate::atomic::{sync_parent, write_atomic};
use crate::error::{Error, IoContext, Result};

/// How a merge runs.
#[derive(Debug, Clone)]
pub struct MergeOptions {
    /// How often the state file records progress while blocks are copied.
    pub state_interval: Duration,
}

impl Default for MergeOptions {
    fn default() -> Self {
        MergeOptions {
            state_interval: Duration::from_secs(10),
        }
    }
}

/// What a merge reports as it goes. Answering [`ControlFlow::Break`] stops the merge right there,
/// as a crash would, leaving the state file to resume from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MergeEvent {
    /// A block was written into the parent.
    Block { block: u32, total: u32 },
    /// The parent's BAT and footer (now the child's identity) are written.
    MetadataWritten,
    /// An intermediate child was deleted.
    Removed(PathBuf),
    /// The merged parent now stands at the child's path.
    Renamed(PathBuf),
}

/// The caller's view of a running merge.
pub type MergeControl<'a> = &'a mut dyn FnMut(&MergeEvent) -> ControlFlow<()>;

/// What a merge did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeSummary {
    /// Where the merged disk is (the newest child's path), or `None` when there was nothing to merge.
    pub merged: Option<PathBuf>,
    /// Blocks written into the parent by this run.
    pub blocks: u32,
    /// Bytes of block data written into the parent by this run.
    pub bytes: u64,
    /// Whether this run resumed an interrupted merge.
    pub resumed: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
enum Step {
    MergeBlocks,
    Cleanup,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct DiskId {
    uuid: Uuid,
}

/// Xen Orchestra's merge state file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct MergeState {
    child: DiskId,
    parent: DiskId,
    /// The chain, oldest first, relative to the state file's folder.
    chain: Vec<String>,
    current_block: u32,
    merged_data_size: u64,
    step: Step,
    disk_size: u64,
}

/// The state file of a merge into `parent`: `.<parent file name>.merge.json` beside it.
pub fn state_path(parent: &Path) -> PathBuf {
    let name = parent
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    parent.with_file_name(format!(".{name}.merge.json"))
}

/// State files of interrupted merges in `dir`.
pub fn interrupted_merges(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).at(dir)? {
        let entry = entry.at(dir)?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') && name.ends_with(".merge.json") {
            found.push(entry.path());
        }
    }
    found.sort();
    Ok(found)
}

/// Merges the whole chain of `child` into one disk at `child`'s path, resuming an interrupted
/// merge of that chain if its state file is in `child`'s folder. A disk without a parent is left
/// as it is.
pub fn merge_into_root(
    child: &Path,
    options: &MergeOptions,
    control: MergeControl,
) -> Result<MergeSummary> {
    let folder = folder_of(child);
    let target = absolute(child)?;
    for state_file in interrupted_merges(folder)? {
        let state = read_state(&state_file)?;
        let chain = resolve_chain(&state_file, &state)?;
        if chain.last().map(|p| absolute(p)).transpose()?.as_ref() == Some(&target) {
            return run(&state_file, state, &chain, options, control, true);
        }
    }
    let mut chain: Vec<PathBuf> = open_layers(child)?
        .iter()
        .map(|l| l.path().to_path_buf())
        .collect();
    if chain.len() < 2 {
        return Ok(MergeSummary {
            merged: None,
            blocks: 0,
            bytes: 0,
            resumed: false,
        });
    }
    chain.reverse();
    merge_chain(&chain, options, control)
}

/// Merges `chain` (oldest first, each disk the parent of the next) into its first disk and puts
/// the result at the last one's path. Resumes when the parent's state file exists.
pub fn merge_chain(
    chain: &[PathBuf],
    options: &MergeOptions,
    control: MergeControl,
) -> Result<MergeSummary> {
    let [parent_file, .., child_file] = chain else {
        return Err(Error::Incompatible {
            path: chain.first().cloned().unwrap_or_default(),
            problem: "a merge needs a parent and at least one child".into(),
        });
    };
    if is_alias(parent_file) != is_alias(child_file) {
        return Err(Error::Incompatible {
            path: child_file.clone(),
            problem: format!(
                "cannot merge into {}: the merged disk takes the child's place, so both must be VHD files or both VHD directories",
                parent_file.display()
            ),
        });
    }
    let state_file = state_path(parent_file);
    if state_file.exists() {
        let state = read_state(&state_file)?;
        let recorded = resolve_chain(&state_file, &state)?;
        let same = recorded.len() == chain.len()
            && recorded
                .iter()
                .zip(chain)
                .all(|(a, b)| absolute(a).ok() == absolute(b).ok());
        if !same {
            return Err(Error::MergeState {
                path: state_file,
                problem: "an interrupted merge of another chain is pending on this parent".into(),
            });
        }
        return run(&state_file, state, chain, options, control, true);
    }
    let parent = open_vhd(parent_file)?;
    let mut previous = (parent_file.clone(), parent.footer().uuid);
    let root = folder_of(child_file).to_path_buf();
    let mut child_footer = None;
    for path in &chain[1..] {
        let disk = open_vhd(path)?;
        if disk.header().parent_uuid != previous.1 {
            return Err(Error::ParentUuidMismatch {
                child: path.clone(),
                parent: previous.0,
                expected: disk.header().parent_uuid,
                found: previous.1,
            });
        }
        let named = parent_path(path, &disk.header().parent_name, &root)?;
        if absolute(&named)? != absolute(&previous.0)? {
            return Err(Error::Incompatible {
                path: path.clone(),
                problem: format!(
                    "its parent is {}, not {}",
                    named.display(),
                    previous.0.display()
                ),
            });
        }
        previous = (path.clone(), disk.footer().uuid);
        child_footer = Some(disk.footer().clone());
    }
    let child_footer = child_footer.expect("chain has at least one child");
    let state_folder = absolute(folder_of(&state_file))?;
    let relative_chain = chain
        .iter()
        .map(|p| Ok(relative_to(&absolute(p)?, &state_folder)))
        .collect::<Result<Vec<_>>>()?;
    if let Some(outside) = relative_chain.iter().position(|p| p.starts_with("..")) {
        return Err(Error::Incompatible {
            path: chain[outside].clone(),
            problem: format!(
                "must be in the folder of the parent {} or below it",
                parent_file.display()
            ),
        });
    }
    let state = MergeState {
        child: DiskId {
            uuid: child_footer.uuid,
        },
        parent: DiskId {
            uuid: parent.footer().uuid,
        },
        chain: relative_chain,
        current_block: 0,
        merged_data_size: 0,
        step: Step::MergeBlocks,
        disk_size: child_footer.current_size,
    };
    drop(parent);
    write_state(&state_file, &state)?;
    run(&state_file, state, chain, options, control, false)
}

fn run(
    state_file: &Path,
    mut state: MergeState,
    chain: &[PathBuf],
    options: &MergeOptions,
    control: MergeControl,
    resumed: bool,
) -> Result<MergeSummary> {
    let stop = |flow: ControlFlow<()>| match flow {
        ControlFlow::Continue(()) => Ok(()),
        ControlFlow::Break(()) => Err(Error::Interrupted),
    };
    let (parent_file, child_file) = (&chain[0], &chain[chain.len() - 1]);
    let mut summary = MergeSummary {
        merged: Some(child_file.clone()),
        blocks: 0,
        bytes: 0,
        resumed,
    };
    if state.step == Step::MergeBlocks {
        let mut parent = open_vhd_for_write(parent_file)?;
        let found = parent.footer().uuid;
        if found != state.parent.uuid && found != state.child.uuid {
            return Err(Error::MergeState {
                path: state_file.to_path_buf(),
                problem: format!(
                    "parent {} has uuid {found}, the state file expects {}",
                    parent_file.display(),
                    state.parent.uuid
                ),
            });
        }
        let mut children = chain[1..]
            .iter()
            .rev()
            .map(|p| open_vhd(p))
            .collect::<Result<Vec<Box<dyn Vhd>>>>()?;
        let child_footer = children[0].footer().clone();
        if child_footer.uuid != state.child.uuid {
            return Err(Error::MergeState {
                path: state_file.to_path_buf(),
                problem: format!(
                    "child {} is not the disk the merge started with",
                    child_file.display()
                ),
            });
        }
        let block_size = parent.header().block_size;
        if let Some(other) = children
            .iter()
            .find(|c| c.header().block_size != block_size)
        {
            return Err(Error::Incompatible {
                path: other.path().to_path_buf(),
                problem: format!("block size differs from the parent's {block_size}"),
            });
        }
        let total = block_count(child_footer.current_size, block_size);
        parent.grow_table(total)?;
        let bitmap_size = parent.header().bitmap_size();
        let mut block_buf = vec![0u8; block_size as usize];
        let (mut bitmap, mut scratch_bitmap) = (vec![0u8; bitmap_size], vec![0u8; bitmap_size]);
        let mut scratch = vec![0u8; block_size as usize];
        let mut last_save = Instant::now();
        for block in state.current_block..total {
            if !children.iter().any(|c| c.is_allocated(block)) {
                continue;
            }
            if !copy_whole_block(&mut children, parent.as_mut(), block, &mut bitmap)? {
                let layers = children
                    .iter_mut()
                    .map(|c| c.as_mut() as &mut dyn Vhd)
                    .chain(std::iter::once(parent.as_mut() as &mut dyn Vhd));
                compose_block(
                    layers,
                    block,
                    &mut block_buf,
                    &mut bitmap,
                    &mut scratch_bitmap,
                    &mut scratch,
                )?;
                parent.write_full_block(block, &block_buf)?;
            }
            summary.blocks += 1;
            summary.bytes += u64::from(block_size);
            state.merged_data_size += u64::from(block_size);
            stop(control(&MergeEvent::Block { block, total }))?;
            if last_save.elapsed() >= options.state_interval {
                parent.flush()?;
                state.current_block = block + 1;
                write_state(state_file, &state)?;
                last_save = Instant::now();
            }
        }
        let mut footer = parent.footer().clone();
        footer.current_size = child_footer.current_size;
        footer.original_size = child_footer.original_size;
        footer.geometry = child_footer.geometry;
        footer.timestamp = child_footer.timestamp;
        footer.uuid = child_footer.uuid;
        parent.set_footer(footer);
        parent.flush()?;
        stop(control(&MergeEvent::MetadataWritten))?;
        state.current_block = total;
        state.step = Step::Cleanup;
        write_state(state_file, &state)?;
    }
    for intermediate in &chain[1..chain.len() - 1] {
        if remove_disk(intermediate)? {
            stop(control(&MergeEvent::Removed(intermediate.clone())))?;
        }
    }
    put_parent_at_child(parent_file, child_file)?;
    stop(control(&MergeEvent::Renamed(child_file.clone())))?;
    std::fs::remove_file(state_file).at(state_file)?;
    sync_parent(state_file)?;
    Ok(summary)
}

/// The common case, done inside the kernel: the newest child holding `block` has all of it (a
/// full bitmap) in a plain file, and the parent can take a copy. Returns whether it was done.
fn copy_whole_block(
    children: &mut [Box<dyn Vhd>],
    parent: &mut dyn VhdWrite,
    block: u32,
    bitmap: &mut [u8],
) -> Result<bool> {
    let Some(newest) = children.iter_mut().find(|c| c.is_allocated(block)) else {
        return Ok(false);
    };
    // Storage that is not a plain file (a VHD directory) would decompress the whole block just
    // for its bitmap, and again to compose it: ask for the file first.
    if newest.block_data_in_file(block).is_none() {
        return Ok(false);
    }
    newest.read_bitmap(block, bitmap)?;
    if !bitmap_is_full(bitmap, newest.header().block_size) {
        return Ok(false);
    }
    match newest.block_data_in_file(block) {
        Some((file, offset)) => parent.copy_full_block(block, file, offset),
        None => Ok(false),
    }
}

/// Deletes a disk (a file, or an alias and its VHD directory). Returns whether anything was there.
fn remove_disk(path: &Path) -> Result<bool> {
    if is_alias(path) {
        let Some(dir) = alias_target(path)? else {
            return Ok(false);
        };
        remove_dir_if_present(&dir)?;
    }
    match std::fs::remove_file(path) {
        Ok(()) => {
            sync_parent(path)?;
            Ok(true)
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(err) => Err(Error::io(path, err)),
    }
}

/// Puts the merged parent at the child's path: a rename for files; for VHD directories the
/// child's alias is pointed at the parent's data, after which the child's old data and the
/// parent's alias go. Each step can be redone after a crash.
fn put_parent_at_child(parent: &Path, child: &Path) -> Result<()> {
    if !is_alias(parent) {
        return match std::fs::rename(parent, child) {
            Ok(()) => sync_parent(child),
            // Already renamed by the interrupted run.
            Err(err) if err.kind() == std::io::ErrorKind::NotFound && child.exists() => Ok(()),
            Err(err) => Err(Error::io(parent, err)),
        };
    }
    let Some(parent_data) = alias_target(parent)? else {
        return Ok(());
    };
    if let Some(child_data) = alias_target(child)?
        && absolute(&child_data)? != absolute(&parent_data)?
    {
        remove_dir_if_present(&child_data)?;
    }
    let relative = relative_to(&absolute(&parent_data)?, &absolute(folder_of(child))?);
    write_atomic(child, relative.as_bytes())?;
    std::fs::remove_file(parent).at(parent)?;
    sync_parent(parent)
}

fn alias_target(alias: &Path) -> Result<Option<PathBuf>> {
    match resolve_alias(alias) {
        Ok(dir) => Ok(Some(dir)),
        Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(err),
    }
}

fn remove_dir_if_present(dir: &Path) -> Result<()> {
    match std::fs::remove_dir_all(dir) {
        Err(err) if err.kind() != std::io::ErrorKind::NotFound => Err(Error::io(dir, err)),
        _ => Ok(()),
    }
}

fn read_state(path: &Path) -> Result<MergeState> {
    let text = std::fs::read(path).at(path)?;
    let state: MergeState = serde_json::from_slice(&text).map_err(|err| Error::MergeState {
        path: path.to_path_buf(),
        problem: format!("not a merge state file: {err}"),
    })?;
    if state.chain.len() < 2 {
        return Err(Error::MergeState {
            path: path.to_path_buf(),
            problem: "chain has fewer than two disks".into(),
        });
    }
    Ok(state)
}

fn write_state(path: &Path, state: &MergeState) -> Result<()> {
    let json = serde_json::to_vec(state).map_err(|err| Error::MergeState {
        path: path.to_path_buf(),
        problem: err.to_string(),
    })?;
    write_atomic(path, &json)
}

/// The chain's paths from a state file, which must stay inside the state file's folder tree.
fn resolve_chain(state_file: &Path, state: &MergeState) -> Result<Vec<PathBuf>> {
    let folder = folder_of(state_file);
    state
        .chain
        .iter()
        .map(|entry| {
            let entry_path = Path::new(entry);
            let inside = entry_path
                .components()
                .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
            if inside {
                Ok(folder.join(entry_path))
            } else {
                Err(Error::MergeState {
                    path: state_file.to_path_buf(),
                    problem: format!("chain entry {entry:?} leaves the state file's folder"),
                })
            }
        })
        .collect()
}

fn folder_of(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// `path` made absolute through its (existing) folder, without resolving the file itself.
fn absolute(path: &Path) -> Result<PathBuf> {
    let folder = folder_of(path);
    let folder = std::fs::canonicalize(folder).at(folder)?;
    Ok(match path.file_name() {
        Some(name) => folder.join(name),
        None => folder,
    })
}

/// `path` relative to `folder`, both absolute; paths outside `folder` keep `..` components.
fn relative_to(path: &Path, folder: &Path) -> String {
    let path_parts: Vec<Component> = path.components().collect();
    let folder_parts: Vec<Component> = folder.components().collect();
    let common = path_parts
        .iter()
        .zip(&folder_parts)
        .take_while(|(a, b)| a == b)
        .count();
    let mut relative = PathBuf::new();
    for _ in common..folder_parts.len() {
        relative.push("..");
    }
    for part in &path_parts[common..] {
        relative.push(part);
    }
    relative.to_string_lossy().into_owned()
}
