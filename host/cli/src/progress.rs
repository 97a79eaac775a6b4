//! Progress bars for long operations, shown only when standard error is a terminal so that scripts
//! and job runners get clean output.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

/// A byte-counting progress bar, or nothing when standard error is not a terminal.
pub struct Progress(Option<ProgressBar>);

impl Progress {
    /// A bar labelled `label`.
    pub fn bytes(label: &str) -> Self {
        if !std::io::stderr().is_terminal() {
            return Progress(None);
        }
        let bar = ProgressBar::new(0);
        let style = ProgressStyle::with_template(
            "{msg:>10} [{bar:40}] {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
        bar.set_style(style);
        bar.set_message(label.to_string());
        Progress(Some(bar))
    }

    /// Records that `done` of `total` bytes are through.
    pub fn update(&self, done: u64, total: u64) {
        if let Some(bar) = &self.0 {
            bar.set_length(total);
            bar.set_position(done);
        }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}

/// A reader that moves a progress bar as its input is consumed (for inputs whose length is known,
/// such as an archive file).
pub struct ProgressRead<'a, R> {
    inner: R,
    progress: &'a Progress,
    done: u64,
    total: u64,
}

impl<'a, R> ProgressRead<'a, R> {
    /// Wraps `inner`, which holds `total` bytes.
    pub fn new(inner: R, total: u64, progress: &'a Progress) -> Self {
        ProgressRead {
            inner,
            progress,
            done: 0,
            total,
        }
    }
}

impl<R: std::io::Read> std::io::Read for ProgressRead<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.done += n as u64;
        self.progress.update(self.done, self.total);
        Ok(n)
    }
}
