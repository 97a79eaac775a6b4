//! The measured client side of the transfer benchmarks: this binary run as a child with
//! [`CHILD_FLAG`], logging in and moving one disk or one VM through `lifeboat-xapi`, so that its
//! time and peak memory are measured like `curl`'s.

use anyhow::{Context, Result, bail};
use lifeboat_xapi::records::Ref;
use lifeboat_xapi::{Client, ConnectOptions, ImportSource, RawFormat, VmCompression};
use tokio_util::io::ReaderStream;
use url::Url;

/// First argument that makes this binary the benchmark's XAPI client.
pub const CHILD_FLAG: &str = "--xapi-client";

/// `export URL USER PASSWORD VDI FORMAT` (the disk is read and dropped),
/// `import URL USER PASSWORD VDI FILE` (a raw image written into the VDI), or
/// `copy-vm URL USER PASSWORD VM TARGET_URL TARGET_USER TARGET_PASSWORD SR` (the VM's XVA export
/// streamed into an import on the other pool's SR, as dr-copy's transfer is, on a multi-threaded
/// runtime as `lifeboat run`'s).
pub fn main(args: &[String]) -> Result<()> {
    if args.first().map(String::as_str) == Some("copy-vm") {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?;
        return runtime.block_on(copy_vm(&args[1..]));
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(args))
}

async fn copy_vm(args: &[String]) -> Result<()> {
    let [
        url,
        user,
        password,
        vm,
        target_url,
        target_user,
        target_password,
        sr,
    ] = args
    else {
        bail!(
            "usage: {CHILD_FLAG} copy-vm URL USER PASSWORD VM TARGET_URL TARGET_USER TARGET_PASSWORD SR"
        );
    };
    let options = ConnectOptions::new(Url::parse(url)?, user.clone(), password.clone());
    let source = Client::connect(options).await.context("login")?;
    let options = ConnectOptions::new(
        Url::parse(target_url)?,
        target_user.clone(),
        target_password.clone(),
    );
    let target = Client::connect(options).await.context("login")?;
    let download = source
        .export_vm(&Ref::new(vm.clone()), VmCompression::None)
        .await?;
    let length = download.content_length();
    let (body, export) = download.into_stream();
    target
        .import_vm(
            Some(&Ref::new(sr.clone())),
            ImportSource::from_stream(body, length),
        )
        .await?;
    export.wait().await?;
    source.logout().await?;
    target.logout().await?;
    Ok(())
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
