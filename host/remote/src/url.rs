//! Remote URLs in Xen Orchestra's forms: `file:///path` for a local folder (or a mounted share),
//! `s3://[KEY[:SECRET]@]HOST[:PORT]/BUCKET[/PREFIX]` for S3 over HTTPS and `s3+http://…` over
//! plain HTTP, with the query parameters Xen Orchestra writes (`region`, `protocol`,
//! `allowUnauthorized`, `useVhdDirectory`).

use std::fmt;
use std::path::PathBuf;

use lifeboat_formats::secret::Secret;
use percent_encoding::percent_decode_str;

use crate::error::RemoteError;

/// Where a remote is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RemoteUrl {
    /// A local folder: an absolute path.
    Local(PathBuf),
    S3(S3Location),
}

/// An S3 bucket, or a prefix inside one.
#[derive(Clone, PartialEq, Eq)]
pub struct S3Location {
    /// `https://HOST[:PORT]` or `http://HOST[:PORT]`.
    pub endpoint: String,
    pub bucket: String,
    /// The folder inside the bucket that is the remote's root; empty for the whole bucket.
    pub prefix: String,
    /// Default `us-east-1`, which S3-compatible stores accept.
    pub region: String,
    /// The access key written in the URL, if any.
    pub access_key: Option<String>,
    /// The secret key written in the URL (Xen Orchestra's form); pipelines refuse it and take
    /// the secret from their secrets instead.
    pub secret_key: Option<Secret>,
    /// `allowUnauthorized=true`: the server's certificate is not checked.
    pub allow_unauthorized: bool,
}

impl RemoteUrl {
    pub fn parse(text: &str) -> Result<RemoteUrl, RemoteError> {
        let bad = |problem: &str| RemoteError::BadUrl {
            url: redact(text),
            problem: problem.to_owned(),
        };
        let Some((scheme, rest)) = text.split_once("://") else {
            return Err(bad(
                "expected file:///PATH, s3://HOST/BUCKET or s3+http://HOST/BUCKET",
            ));
        };
        match scheme {
            "file" => {
                let path = percent_decode_str(rest).decode_utf8_lossy();
                if !path.starts_with('/') {
                    return Err(bad("a file URL names an absolute path: file:///PATH"));
                }
                Ok(RemoteUrl::Local(PathBuf::from(path.as_ref())))
            }
            "s3" | "s3+http" => parse_s3(scheme, rest)
                .map(RemoteUrl::S3)
                .map_err(|p| bad(&p)),
            other => Err(bad(&format!(
                "unknown scheme {other:?}: Lifeboat reaches local folders (file://, NFS and SMB shares once mounted) and S3 (s3://, s3+http://)"
            ))),
        }
    }
}

fn parse_s3(scheme: &str, rest: &str) -> Result<S3Location, String> {
    let (address, query) = rest.split_once('?').unwrap_or((rest, ""));
    // The secret may hold `/` or `@`: the credentials end at the last `@`.
    let (credentials, location) = match address.rsplit_once('@') {
        Some((credentials, location)) => (Some(credentials), location),
        None => (None, address),
    };
    let (access_key, secret_key) = match credentials {
        None => (None, None),
        Some(credentials) => {
            let (key, secret) = match credentials.split_once(':') {
                Some((key, secret)) => (key, Some(secret)),
                None => (credentials, None),
            };
            let decode = |text: &str| percent_decode_str(text).decode_utf8_lossy().into_owned();
            (
                Some(decode(key)),
                secret.map(|secret| Secret::new(decode(secret))),
            )
        }
    };
    let (host, path) = location
        .split_once('/')
        .ok_or("expected s3://HOST/BUCKET[/PREFIX]")?;
    if host.is_empty() {
        return Err("the URL names no host".to_owned());
    }
    let path = path.trim_matches('/');
    let (bucket, prefix) = path.split_once('/').unwrap_or((path, ""));
    if bucket.is_empty() {
        return Err("the URL names no bucket: s3://HOST/BUCKET[/PREFIX]".to_owned());
    }
    let mut protocol = if scheme == "s3+http" { "http" } else { "https" };
    let mut region = "us-east-1".to_owned();
    let mut allow_unauthorized = false;
    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "region" if !value.is_empty() => region = value.to_owned(),
            "protocol" => match value {
                "http" => protocol = "http",
                "https" => protocol = "https",
                other => return Err(format!("protocol={other}: expected http or https")),
            },
            "allowUnauthorized" => allow_unauthorized = value == "true",
            // Xen Orchestra's layout option; S3 remotes always use VHD directories.
            "useVhdDirectory" => {}
            other => return Err(format!("unknown query parameter {other:?}")),
        }
    }
    Ok(S3Location {
        endpoint: format!("{protocol}://{host}"),
        bucket: bucket.to_owned(),
        prefix: crate::path::RemotePath::parse(prefix.trim_matches('/'))
            .map_err(|error| error.to_string())?
            .as_str()
            .to_owned(),
        region,
        access_key,
        secret_key,
        allow_unauthorized,
    })
}

/// `text` without the secret a URL may carry, for error messages: whatever stands before the
/// last `@` (credentials, however malformed the rest) is shown as `***`.
fn redact(text: &str) -> String {
    match text.rsplit_once('@') {
        Some((_, location)) => format!("***@{location}"),
        None => text.to_owned(),
    }
}

impl fmt::Display for S3Location {
    /// The location as a URL without its secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (scheme, host) = match self.endpoint.split_once("://") {
            Some(("http", host)) => ("s3+http", host),
            Some((_, host)) => ("s3", host),
            None => ("s3", self.endpoint.as_str()),
        };
        write!(f, "{scheme}://")?;
        if let Some(key) = &self.access_key {
            write!(f, "{key}@")?;
        }
        write!(f, "{host}/{}", self.bucket)?;
        if !self.prefix.is_empty() {
            write!(f, "/{}", self.prefix)?;
        }
        Ok(())
    }
}

impl fmt::Debug for S3Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "S3Location({self}, region {})", self.region)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xen_orchestra_forms_parse() {
        assert_eq!(
            RemoteUrl::parse("file:///srv/backups").unwrap(),
            RemoteUrl::Local(PathBuf::from("/srv/backups"))
        );
        let RemoteUrl::S3(s3) = RemoteUrl::parse(
            "s3://AKIA:se%2Fcr@et@s3.example.net:9000/bucket/dir/sub?region=eu-west-3",
        )
        .unwrap() else {
            panic!("an S3 URL")
        };
        assert_eq!(s3.endpoint, "https://s3.example.net:9000");
        assert_eq!(
            (s3.bucket.as_str(), s3.prefix.as_str()),
            ("bucket", "dir/sub")
        );
        assert_eq!(s3.region, "eu-west-3");
        assert_eq!(s3.access_key.as_deref(), Some("AKIA"));
        assert_eq!(s3.secret_key.unwrap().expose(), "se/cr@et");
        let RemoteUrl::S3(plain) = RemoteUrl::parse("s3+http://127.0.0.1:9000/b").unwrap() else {
            panic!("an S3 URL")
        };
        assert_eq!(plain.endpoint, "http://127.0.0.1:9000");
        assert_eq!(plain.prefix, "");
        assert_eq!(plain.to_string(), "s3+http://127.0.0.1:9000/b");
    }

    #[test]
    fn bad_urls_say_why_and_never_show_the_secret() {
        for (url, expected) in [
            ("/srv/backups", "expected file:///PATH"),
            ("file://relative", "absolute path"),
            ("smb://host/share", "unknown scheme"),
            ("s3://host", "expected s3://HOST/BUCKET"),
            ("s3://KEY:hunter2@host/", "no bucket"),
            ("s3://host/b?colour=red", "unknown query parameter"),
            ("s3:KEY:hunter2@host/b", "expected file:///PATH"),
        ] {
            let error = RemoteUrl::parse(url).unwrap_err().to_string();
            assert!(error.contains(expected), "{url}: {error}");
            assert!(!error.contains("hunter2"), "{error}");
        }
    }
}
