//! A `lifeboat sim serve` child process: started on a fixture, read for its pools' URLs and
//! credentials, measured through `/proc`, stopped on drop.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use anyhow::{Context, Result, bail};
use lifeboat_xapi::ConnectOptions;
use url::Url;

/// A running simulator process and the pools it serves.
pub struct SimProcess {
    child: Child,
    pools: Vec<SimPool>,
}

/// One pool of the simulator: its master's URL and credentials.
pub struct SimPool {
    pub name: String,
    pub url: String,
    pub username: String,
    pub password: String,
}

impl SimPool {
    /// What a client needs to log in to this pool.
    pub fn options(&self) -> Result<ConnectOptions> {
        Ok(ConnectOptions::new(
            Url::parse(&self.url)?,
            self.username.clone(),
            self.password.clone(),
        ))
    }
}

impl SimProcess {
    /// Starts `lifeboat sim serve --fixture FIXTURE` and waits until it prints its URLs.
    pub fn start(lifeboat: &Path, fixture: &Path) -> Result<SimProcess> {
        let mut child = Command::new(lifeboat)
            .args(["sim", "serve", "--fixture"])
            .arg(fixture)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("cannot start {} sim serve", lifeboat.display()))?;
        let stdout = child.stdout.take().context("no stdout")?;
        let mut pools = Vec::new();
        for line in BufReader::new(stdout).lines() {
            let line = line?;
            let words: Vec<&str> = line.split_whitespace().collect();
            if let [
                "pool",
                name,
                url,
                "username",
                username,
                "password",
                password,
            ] = words[..]
            {
                pools.push(SimPool {
                    name: name.to_owned(),
                    url: url.to_owned(),
                    username: username.to_owned(),
                    password: password.to_owned(),
                });
            }
            if words.first() == Some(&"control") {
                break;
            }
        }
        if pools.is_empty() {
            let _ = child.kill();
            let _ = child.wait();
            bail!("the simulator printed no pool");
        }
        Ok(SimProcess { child, pools })
    }

    /// The pool the fixture names `name`.
    pub fn pool(&self, name: &str) -> Result<&SimPool> {
        self.pools
            .iter()
            .find(|pool| pool.name == name)
            .with_context(|| format!("the simulator serves no pool {name:?}"))
    }

    /// Current and peak resident memory of the simulator, in KiB.
    pub fn memory_kib(&self) -> Result<(u64, u64)> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        let field = |name: &str| {
            status
                .lines()
                .find_map(|line| line.strip_prefix(name))
                .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
                .unwrap_or(0)
        };
        Ok((field("VmRSS:"), field("VmHWM:")))
    }
}

impl Drop for SimProcess {
    /// Stops the simulator with SIGTERM, which lets it remove its temporary storage (gigabytes
    /// for the transfer benchmark); SIGKILL only if it has not stopped 30 s later.
    fn drop(&mut self) {
        // SAFETY: signals our own child, which has not been waited for, so its pid is still ours.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        for _ in 0..300 {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
