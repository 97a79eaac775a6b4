//! Encodes values, calls and responses the way xapi's non-strict XML-RPC encoder does.
//!
//! Peers (xapi, Xen Orchestra's parser) expect xapi's exact style: compact XML with no
//! whitespace between elements, strings untyped (`<value>text</value>`), int64 untyped too,
//! booleans as `1`/`0`. Output goes through quick-xml's writer so that text is always escaped.

use std::io::{self, Write};

use quick_xml::Writer;
use quick_xml::events::{BytesEnd, BytesStart, BytesText, Event};

use super::message::{MethodCall, MethodResponse};
use super::value::Value;

/// What xapi puts before a call or a response.
const DECLARATION: &str = "<?xml version=\"1.0\"?>";

impl Value {
    /// Writes the value as a bare compact `<value>` element, without an XML declaration.
    pub fn write_xml<W: Write>(&self, out: W) -> io::Result<()> {
        write_value(&mut Writer::new(out), self)
    }
}

impl MethodCall {
    /// The call as a complete document.
    pub fn to_xml(&self) -> Vec<u8> {
        let mut writer = Writer::new(DECLARATION.as_bytes().to_vec());
        in_memory(write_call(&mut writer, self));
        writer.into_inner()
    }
}

impl MethodResponse {
    /// The response as a complete document.
    pub fn to_xml(&self) -> Vec<u8> {
        let mut writer = Writer::new(DECLARATION.as_bytes().to_vec());
        in_memory(write_response(&mut writer, self));
        writer.into_inner()
    }
}

/// Unwraps the result of writing into a `Vec`, which cannot fail.
fn in_memory(result: io::Result<()>) {
    if let Err(error) = result {
        unreachable!("writing XML into memory failed: {error}");
    }
}

fn write_call<W: Write>(writer: &mut Writer<W>, call: &MethodCall) -> io::Result<()> {
    open(writer, "methodCall")?;
    write_element(writer, "methodName", &call.method)?;
    write_params(writer, &call.params)?;
    close(writer, "methodCall")
}

fn write_response<W: Write>(writer: &mut Writer<W>, response: &MethodResponse) -> io::Result<()> {
    open(writer, "methodResponse")?;
    match response {
        MethodResponse::Success(value) => write_params(writer, std::slice::from_ref(value))?,
        MethodResponse::Fault(value) => {
            open(writer, "fault")?;
            write_value(writer, value)?;
            close(writer, "fault")?;
        }
    }
    close(writer, "methodResponse")
}

fn write_params<W: Write>(writer: &mut Writer<W>, params: &[Value]) -> io::Result<()> {
    open(writer, "params")?;
    for param in params {
        open(writer, "param")?;
        write_value(writer, param)?;
        close(writer, "param")?;
    }
    close(writer, "params")
}

fn write_value<W: Write>(writer: &mut Writer<W>, value: &Value) -> io::Result<()> {
    open(writer, "value")?;
    match value {
        Value::String(text) => write_text(writer, text)?,
        Value::Int(n) => write_text(writer, &n.to_string())?,
        Value::Int32(n) => write_element(writer, "i4", &n.to_string())?,
        Value::Boolean(flag) => write_element(writer, "boolean", if *flag { "1" } else { "0" })?,
        Value::Double(x) => write_element(writer, "double", &x.to_string())?,
        Value::DateTime(text) => write_element(writer, "dateTime.iso8601", text)?,
        Value::Base64(text) => write_element(writer, "base64", text)?,
        Value::Nil => writer.write_event(Event::Empty(BytesStart::new("nil")))?,
        Value::Struct(members) => {
            open(writer, "struct")?;
            for (name, member) in members {
                open(writer, "member")?;
                write_element(writer, "name", name)?;
                write_value(writer, member)?;
                close(writer, "member")?;
            }
            close(writer, "struct")?;
        }
        Value::Array(items) => {
            open(writer, "array")?;
            open(writer, "data")?;
            for item in items {
                write_value(writer, item)?;
            }
            close(writer, "data")?;
            close(writer, "array")?;
        }
    }
    close(writer, "value")
}

fn write_element<W: Write>(writer: &mut Writer<W>, tag: &str, text: &str) -> io::Result<()> {
    open(writer, tag)?;
    write_text(writer, text)?;
    close(writer, tag)
}

fn write_text<W: Write>(writer: &mut Writer<W>, text: &str) -> io::Result<()> {
    if text.is_empty() {
        return Ok(());
    }
    writer.write_event(Event::Text(BytesText::new(text)))
}

fn open<W: Write>(writer: &mut Writer<W>, tag: &str) -> io::Result<()> {
    writer.write_event(Event::Start(BytesStart::new(tag)))
}

fn close<W: Write>(writer: &mut Writer<W>, tag: &str) -> io::Result<()> {
    writer.write_event(Event::End(BytesEnd::new(tag)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(value: &Value) -> String {
        let mut out = Vec::new();
        value
            .write_xml(&mut out)
            .expect("writing to a Vec cannot fail");
        String::from_utf8(out).expect("the encoder writes UTF-8")
    }

    #[test]
    fn encodes_like_xapi_non_strict() {
        let value = Value::record([
            ("name", Value::string("a <b> & 'c'")),
            ("size", Value::Int(42)),
            ("on", Value::Boolean(true)),
            ("empty", Value::string("")),
            ("list", Value::Array(vec![Value::string("x")])),
            ("map", Value::Struct(Vec::new())),
            ("when", Value::DateTime("19700101T00:00:00Z".into())),
        ]);
        assert_eq!(
            encode(&value),
            "<value><struct>\
             <member><name>name</name><value>a &lt;b&gt; &amp; &apos;c&apos;</value></member>\
             <member><name>size</name><value>42</value></member>\
             <member><name>on</name><value><boolean>1</boolean></value></member>\
             <member><name>empty</name><value></value></member>\
             <member><name>list</name><value><array><data><value>x</value></data></array></value></member>\
             <member><name>map</name><value><struct></struct></value></member>\
             <member><name>when</name><value><dateTime.iso8601>19700101T00:00:00Z</dateTime.iso8601></value></member>\
             </struct></value>"
        );
    }
}
