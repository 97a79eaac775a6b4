//! What a data handler reads from its request besides the body: query parameters, which xapi
//! also accepts as cookies (`session_id`, `task_id`), and the framing headers.

use http::{HeaderMap, Request, header};

/// The query parameters and cookies of a request.
#[derive(Debug, Default)]
pub struct Params {
    query: Vec<(String, String)>,
    cookies: Vec<(String, String)>,
}

impl Params {
    pub fn of<B>(request: &Request<B>) -> Params {
        let query = url::form_urlencoded::parse(request.uri().query().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
        let cookies = request
            .headers()
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|line| line.split(';'))
            .filter_map(|pair| {
                let (name, value) = pair.split_once('=')?;
                Some((name.trim().to_owned(), value.trim().to_owned()))
            })
            .collect();
        Params { query, cookies }
    }

    /// A parameter from the query, else from a cookie.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .chain(&self.cookies)
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// Whether a flag parameter is `true`.
    pub fn flag(&self, name: &str) -> bool {
        self.get(name) == Some("true")
    }
}

/// The declared body length.
pub fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// The HTTP transfer encoding of the body, which xapi's upload handlers refuse.
pub fn transfer_encoding(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::TRANSFER_ENCODING)
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
}
