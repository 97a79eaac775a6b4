//! The measured client side of the transfer benchmark: this binary run as a child with
//! [`CHILD_FLAG`], logging in and moving one disk through `lifeboat-xapi`, so that its time and
//! peak memory are measured like `curl`'s.

use anyhow::{Context, Result, bail};
use lifeboat_xapi::records::Ref;
use lifeboat_xapi::{Client, ConnectOptions, ImportSource, RawFormat};
use tokio_util::io::ReaderStream;
use url::Url;

/// First argument that makes this binary the benchmark's XAPI client.
pub const CHILD_FLAG: &str = "--xapi-client";

/// `export URL USER PASSWORD VDI FORMAT` (the disk is read and dropped) or
/// `import URL USER PASSWORD VDI FILE` (a raw image written into the VDI).
pub fn main(args: &[String]) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(args))
}

async fn run(args: &[String]) -> Result<()> {
    let [mode, url, user, password, vdi, last] = args else {
        bail!("usage: {CHILD_FLAG} export|import URL USER PASSWORD VDI FORMAT|FILE");
    };
    let options = ConnectOptions::new(Url::parse(url)?, user.clone(), password.clone());
    let client = Client::connect(options).await.context("login")?;
    let vdi = Ref::new(vdi.clone());
    match mode.as_str() {
        "export" => {
            let format = match last.as_str() {
                "raw" => RawFormat::Raw,
                "vhd" => RawFormat::Vhd,
                other => bail!("unknown format {other}"),
            };
            let mut download = client.export_raw_vdi(&vdi, format, None).await?;
            while download.chunk().await?.is_some() {}
            download.finish().await?;
        }
        "import" => {
            let file = tokio::fs::File::open(last).await?;
            let length = file.metadata().await?.len();
            let body = ReaderStream::with_capacity(file, 1 << 20);
            client
                .import_raw_vdi(
                    &vdi,
                    RawFormat::Raw,
                    ImportSource::from_stream(body, Some(length)),
                )
                .await?;
        }
        other => bail!("unknown mode {other}"),
    }
    client.logout().await?;
    Ok(())
}
