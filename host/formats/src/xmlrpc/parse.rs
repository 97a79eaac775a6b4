//! Decodes XML-RPC documents: a bare `<value>` (an XVA's `ova.xml`), a `<methodCall>` and a
//! `<methodResponse>`.
//!
//! Accepts what the encoders in the wild produce: typed values (`<string>`, `<int>`, `<i4>`,
//! `<i8>`, `<boolean>`, `<double>`, `<dateTime.iso8601>`, `<base64>`, `<struct>`,
//! `<array><data>`, `<nil/>`) as well as xapi's untyped strings, with or without an XML
//! declaration, compact or indented. Nesting is limited so that hostile input cannot exhaust the
//! stack; a DOCTYPE (which could declare entities) is refused; anything else malformed is an
//! [`XmlRpcError`] giving the byte position.

use quick_xml::Reader;
use quick_xml::escape::resolve_xml_entity;
use quick_xml::events::{BytesRef, Event};

use super::error::XmlRpcError;
use super::message::{MethodCall, MethodResponse};
use super::value::Value;

/// How deep values may nest. xapi's records need 4 levels (root, object list, record, map).
pub const MAX_VALUE_DEPTH: usize = 64;

impl Value {
    /// Decodes a document holding one XML-RPC `<value>` element.
    pub fn parse_xml(xml: &[u8]) -> Result<Value, XmlRpcError> {
        let mut parser = Parser::new(xml);
        let value = parser.child_value(0)?;
        parser.end_of_document()?;
        Ok(value)
    }
}

impl MethodCall {
    /// Decodes a `<methodCall>` document; `<params>` may be absent or empty.
    pub fn parse_xml(xml: &[u8]) -> Result<MethodCall, XmlRpcError> {
        let mut parser = Parser::new(xml);
        parser.open("methodCall")?;
        let method = match parser.next_significant()? {
            Event::Start(start) if start.name().as_ref() == b"methodName" => parser.text_body()?,
            _ => return Err(parser.error("a <methodCall> must start with its <methodName>")),
        };
        let params = match parser.next_significant()? {
            Event::Start(start) if start.name().as_ref() == b"params" => {
                let params = parser.params_body()?;
                parser.close("methodCall")?;
                params
            }
            Event::Empty(start) if start.name().as_ref() == b"params" => {
                parser.close("methodCall")?;
                Vec::new()
            }
            Event::End(_) => Vec::new(),
            _ => return Err(parser.error("a <methodCall> holds a <methodName> and <params>")),
        };
        parser.end_of_document()?;
        Ok(MethodCall { method, params })
    }
}

impl MethodResponse {
    /// Decodes a `<methodResponse>` document holding either one `<param>` or a `<fault>`.
    pub fn parse_xml(xml: &[u8]) -> Result<MethodResponse, XmlRpcError> {
        let mut parser = Parser::new(xml);
        parser.open("methodResponse")?;
        let response = match parser.next_significant()? {
            Event::Start(start) if start.name().as_ref() == b"params" => {
                let mut params = parser.params_body()?;
                if params.len() != 1 {
                    return Err(parser.error(format!(
                        "a response holds exactly one <param>, this one holds {}",
                        params.len()
                    )));
                }
                MethodResponse::Success(params.remove(0))
            }
            Event::Start(start) if start.name().as_ref() == b"fault" => {
                let fault = parser.child_value(0)?;
                parser.close("fault")?;
                MethodResponse::Fault(fault)
            }
            _ => return Err(parser.error("a <methodResponse> holds <params> or a <fault>")),
        };
        parser.close("methodResponse")?;
        parser.end_of_document()?;
        Ok(response)
    }
}

struct Parser<'a> {
    reader: Reader<&'a [u8]>,
}

impl<'a> Parser<'a> {
    fn new(xml: &'a [u8]) -> Parser<'a> {
        Parser {
            reader: Reader::from_reader(xml),
        }
    }

    /// Expects the start tag `tag` as the next element.
    fn open(&mut self, tag: &str) -> Result<(), XmlRpcError> {
        match self.next_significant()? {
            Event::Start(start) if start.name().as_ref() == tag.as_bytes() => Ok(()),
            _ => Err(self.error(format!("expected <{tag}>"))),
        }
    }

    /// Expects the end tag `tag` as the next element.
    fn close(&mut self, tag: &str) -> Result<(), XmlRpcError> {
        match self.next_significant()? {
            Event::End(end) if end.name().as_ref() == tag.as_bytes() => Ok(()),
            _ => Err(self.error(format!("expected </{tag}>"))),
        }
    }

    fn end_of_document(&mut self) -> Result<(), XmlRpcError> {
        match self.next_significant()? {
            Event::Eof => Ok(()),
            _ => Err(self.error("content after the document element")),
        }
    }

    /// The values of the `<param>` elements of a `<params>` whose start tag was just read.
    fn params_body(&mut self) -> Result<Vec<Value>, XmlRpcError> {
        let mut params = Vec::new();
        loop {
            match self.next_significant()? {
                Event::Start(start) if start.name().as_ref() == b"param" => {
                    params.push(self.child_value(0)?);
                    self.close("param")?;
                }
                Event::End(_) => return Ok(params),
                _ => return Err(self.error("<params> may only hold <param> elements")),
            }
        }
    }

    /// Decodes the content of a `<value>` whose start tag was just read, up to its end tag.
    fn value_body(&mut self, depth: usize) -> Result<Value, XmlRpcError> {
        if depth > MAX_VALUE_DEPTH {
            return Err(self.error(format!(
                "values nest more than {MAX_VALUE_DEPTH} levels deep"
            )));
        }
        let mut text = String::new();
        let mut typed = None;
        loop {
            match self.next()? {
                Event::Start(start) => {
                    self.expect_no_content_before_type(&text, typed.is_some())?;
                    let tag = start.name().as_ref().to_vec();
                    typed = Some(self.typed_body(&tag, depth)?);
                }
                Event::Empty(start) => {
                    self.expect_no_content_before_type(&text, typed.is_some())?;
                    typed = Some(self.empty_typed(start.name().as_ref())?);
                }
                Event::End(_) => {
                    return match typed {
                        Some(_) if !is_blank(&text) => {
                            Err(self.error("text next to a typed value"))
                        }
                        Some(value) => Ok(value),
                        None => Ok(Value::String(text)),
                    };
                }
                Event::Eof => return Err(self.error("the document ends inside a <value>")),
                other => self.append_text(&mut text, other)?,
            }
        }
    }

    fn expect_no_content_before_type(&self, text: &str, typed: bool) -> Result<(), XmlRpcError> {
        if typed {
            return Err(self.error("a <value> holds more than one typed element"));
        }
        if !is_blank(text) {
            return Err(self.error("text next to a typed value"));
        }
        Ok(())
    }

    /// Decodes a typed element whose start tag `tag` was just read, up to its end tag.
    fn typed_body(&mut self, tag: &[u8], depth: usize) -> Result<Value, XmlRpcError> {
        match tag {
            b"struct" => self.struct_body(depth),
            b"array" => self.array_body(depth),
            _ => {
                let text = self.text_body()?;
                self.scalar(tag, text)
            }
        }
    }

    /// A typed element written as an empty tag, such as `<nil/>` or `<string/>`.
    fn empty_typed(&self, tag: &[u8]) -> Result<Value, XmlRpcError> {
        match tag {
            b"struct" => Ok(Value::Struct(Vec::new())),
            b"array" => Ok(Value::Array(Vec::new())),
            _ => self.scalar(tag, String::new()),
        }
    }

    fn scalar(&self, tag: &[u8], text: String) -> Result<Value, XmlRpcError> {
        let trimmed = text.trim();
        match tag {
            b"string" => Ok(Value::String(text)),
            b"int" | b"i4" | b"i8" => trimmed
                .parse()
                .map(Value::Int)
                .map_err(|_| self.error(format!("{trimmed:?} is not an integer"))),
            b"boolean" => match trimmed {
                "1" => Ok(Value::Boolean(true)),
                "0" => Ok(Value::Boolean(false)),
                _ => Err(self.error(format!("{trimmed:?} is not a boolean (1 or 0)"))),
            },
            b"double" => trimmed
                .parse()
                .map(Value::Double)
                .map_err(|_| self.error(format!("{trimmed:?} is not a double"))),
            b"dateTime.iso8601" => Ok(Value::DateTime(trimmed.to_owned())),
            b"base64" => Ok(Value::Base64(
                text.chars().filter(|c| !c.is_ascii_whitespace()).collect(),
            )),
            b"nil" if trimmed.is_empty() => Ok(Value::Nil),
            b"nil" => Err(self.error("<nil/> must be empty")),
            _ => Err(self.error(format!(
                "unknown value type <{}>",
                String::from_utf8_lossy(tag)
            ))),
        }
    }

    /// The members of a `<struct>` whose start tag was just read, up to its end tag.
    fn struct_body(&mut self, depth: usize) -> Result<Value, XmlRpcError> {
        let mut members = Vec::new();
        loop {
            match self.next_significant()? {
                Event::Start(start) if start.name().as_ref() == b"member" => {
                    members.push(self.member_body(depth)?);
                }
                Event::End(_) => return Ok(Value::Struct(members)),
                _ => return Err(self.error("a <struct> may only hold <member> elements")),
            }
        }
    }

    /// A `<member>` (`<name>` then `<value>`) whose start tag was just read, up to its end tag.
    fn member_body(&mut self, depth: usize) -> Result<(String, Value), XmlRpcError> {
        let name = match self.next_significant()? {
            Event::Start(start) if start.name().as_ref() == b"name" => self.text_body()?,
            Event::Empty(start) if start.name().as_ref() == b"name" => String::new(),
            _ => return Err(self.error("a <member> must start with its <name>")),
        };
        let value = self.child_value(depth)?;
        match self.next_significant()? {
            Event::End(_) => Ok((name, value)),
            _ => Err(self.error("a <member> holds only a <name> and a <value>")),
        }
    }

    /// The items of an `<array>` whose start tag was just read, up to its end tag.
    fn array_body(&mut self, depth: usize) -> Result<Value, XmlRpcError> {
        let mut items = Vec::new();
        match self.next_significant()? {
            Event::Start(start) if start.name().as_ref() == b"data" => loop {
                match self.next_significant()? {
                    Event::Start(start) if start.name().as_ref() == b"value" => {
                        items.push(self.value_body(depth + 1)?);
                    }
                    Event::Empty(start) if start.name().as_ref() == b"value" => {
                        items.push(Value::String(String::new()));
                    }
                    Event::End(_) => break,
                    _ => return Err(self.error("<data> may only hold <value> elements")),
                }
            },
            Event::Empty(start) if start.name().as_ref() == b"data" => {}
            Event::End(_) => return Ok(Value::Array(items)),
            _ => return Err(self.error("an <array> must hold one <data> element")),
        }
        match self.next_significant()? {
            Event::End(_) => Ok(Value::Array(items)),
            _ => Err(self.error("an <array> must hold one <data> element")),
        }
    }

    /// A nested `<value>` element.
    fn child_value(&mut self, depth: usize) -> Result<Value, XmlRpcError> {
        match self.next_significant()? {
            Event::Start(start) if start.name().as_ref() == b"value" => self.value_body(depth + 1),
            Event::Empty(start) if start.name().as_ref() == b"value" => {
                Ok(Value::String(String::new()))
            }
            _ => Err(self.error("expected a <value> element")),
        }
    }

    /// The text of an element whose start tag was just read, up to its end tag.
    fn text_body(&mut self) -> Result<String, XmlRpcError> {
        let mut text = String::new();
        loop {
            match self.next()? {
                Event::End(_) => return Ok(text),
                Event::Start(_) | Event::Empty(_) => {
                    return Err(self.error("unexpected element inside a text element"));
                }
                Event::Eof => return Err(self.error("the document ends inside an element")),
                other => self.append_text(&mut text, other)?,
            }
        }
    }

    /// Appends a text, CDATA or reference event to `text`.
    fn append_text(&self, text: &mut String, event: Event<'a>) -> Result<(), XmlRpcError> {
        match event {
            Event::Text(part) => {
                let decoded = part.decode().map_err(|e| self.error(e.to_string()))?;
                text.push_str(&decoded);
            }
            Event::CData(part) => {
                let decoded = part.decode().map_err(|e| self.error(e.to_string()))?;
                text.push_str(&decoded);
            }
            Event::GeneralRef(reference) => text.push_str(&self.resolve(&reference)?),
            _ => return Err(self.error("unexpected markup inside text")),
        }
        Ok(())
    }

    fn resolve(&self, reference: &BytesRef<'_>) -> Result<String, XmlRpcError> {
        if let Some(ch) = reference
            .resolve_char_ref()
            .map_err(|e| self.error(e.to_string()))?
        {
            return Ok(ch.to_string());
        }
        let name = reference.decode().map_err(|e| self.error(e.to_string()))?;
        resolve_xml_entity(&name)
            .map(str::to_owned)
            .ok_or_else(|| self.error(format!("unknown entity &{name};")))
    }

    /// The next event that is not whitespace-only text.
    fn next_significant(&mut self) -> Result<Event<'a>, XmlRpcError> {
        loop {
            match self.next()? {
                Event::Text(text) if text.iter().all(u8::is_ascii_whitespace) => {}
                event => return Ok(event),
            }
        }
    }

    /// The next event that carries content: comments, processing instructions and the XML
    /// declaration are skipped; a DOCTYPE (which could declare entities) is refused.
    fn next(&mut self) -> Result<Event<'a>, XmlRpcError> {
        loop {
            match self.reader.read_event() {
                Ok(Event::Comment(_) | Event::PI(_) | Event::Decl(_)) => {}
                Ok(Event::DocType(_)) => return Err(self.error("DOCTYPE is not allowed")),
                Ok(event) => return Ok(event),
                Err(e) => {
                    return Err(XmlRpcError {
                        position: self.reader.error_position(),
                        problem: e.to_string(),
                    });
                }
            }
        }
    }

    fn error(&self, problem: impl Into<String>) -> XmlRpcError {
        XmlRpcError {
            position: self.reader.buffer_position(),
            problem: problem.into(),
        }
    }
}

fn is_blank(text: &str) -> bool {
    text.chars().all(|c| c.is_ascii_whitespace())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(xml: &str) -> Result<Value, XmlRpcError> {
        Value::parse_xml(xml.as_bytes())
    }

    #[test]
    fn untyped_and_typed_scalars() {
        let xml = "<?xml version=\"1.0\"?>\n<value><array><data>\
                   <value>plain &amp; &#x41;&#66; <![CDATA[<raw>]]></value>\
                   <value><string> spaced </string></value>\
                   <value><int>-3</int></value><value><i4>4</i4></value><value><i8>5</i8></value>\
                   <value><boolean>0</boolean></value><value><double>1.5</double></value>\
                   <value><dateTime.iso8601>20240101T12:34:56Z</dateTime.iso8601></value>\
                   <value><base64>aGk=\n</base64></value>\
                   <value><nil/></value><value/><value><string/></value>\
                   </data></array></value>";
        let expected = Value::Array(vec![
            Value::string("plain & AB <raw>"),
            Value::string(" spaced "),
            Value::Int(-3),
            Value::Int(4),
            Value::Int(5),
            Value::Boolean(false),
            Value::Double(1.5),
            Value::DateTime("20240101T12:34:56Z".into()),
            Value::Base64("aGk=".into()),
            Value::Nil,
            Value::string(""),
            Value::string(""),
        ]);
        assert_eq!(parse(xml).expect("valid XML-RPC"), expected);
    }

    #[test]
    fn indented_structs_and_empty_containers() {
        let xml = "<value>\n  <struct>\n    <member>\n      <name>a</name>\n      \
                   <value><struct/></value>\n    </member>\n    <member><name>b</name>\
                   <value>\n <array><data/></array>\n</value></member>\n  </struct>\n</value>\n";
        let expected = Value::record([
            ("a", Value::Struct(Vec::new())),
            ("b", Value::Array(Vec::new())),
        ]);
        assert_eq!(parse(xml).expect("valid XML-RPC"), expected);
    }

    #[test]
    fn encoder_output_decodes_back() {
        let value = Value::record([
            ("text", Value::string("<a href=\"x\">&</a>\r\n\ttab")),
            ("flag", Value::Boolean(true)),
            ("ratio", Value::Double(0.25)),
            ("nothing", Value::Nil),
            (
                "nested",
                Value::Array(vec![Value::record([("k", Value::string("v"))])]),
            ),
        ]);
        let mut xml = Vec::new();
        value
            .write_xml(&mut xml)
            .expect("writing to a Vec cannot fail");
        assert_eq!(Value::parse_xml(&xml).expect("own output"), value);
    }

    #[test]
    fn ints_are_written_untyped_and_read_back_as_strings() {
        let mut xml = Vec::new();
        Value::Int(42)
            .write_xml(&mut xml)
            .expect("writing to a Vec cannot fail");
        assert_eq!(xml, b"<value>42</value>");
        assert_eq!(
            Value::parse_xml(&xml).expect("own output"),
            Value::string("42")
        );
    }

    #[test]
    fn method_calls_round_trip() {
        let call = MethodCall {
            method: "VM.snapshot".into(),
            params: vec![
                Value::string("OpaqueRef:s"),
                Value::Int32(7),
                Value::Int(-1),
            ],
        };
        let xml = call.to_xml();
        assert_eq!(
            String::from_utf8(xml.clone()).expect("UTF-8"),
            "<?xml version=\"1.0\"?><methodCall><methodName>VM.snapshot</methodName><params>\
             <param><value>OpaqueRef:s</value></param><param><value><i4>7</i4></value></param>\
             <param><value>-1</value></param></params></methodCall>"
        );
        let decoded = MethodCall::parse_xml(&xml).expect("own output");
        assert_eq!(decoded.method, "VM.snapshot");
        assert_eq!(
            decoded.params,
            vec![
                Value::string("OpaqueRef:s"),
                Value::Int(7),
                Value::string("-1")
            ]
        );
        for xml in [
            "<methodCall><methodName>system.listMethods</methodName></methodCall>",
            "<methodCall><methodName>system.listMethods</methodName><params/></methodCall>",
            "<?xml version='1.0'?>\n<methodCall>\n<methodName>system.listMethods</methodName>\n\
             <params>\n</params>\n</methodCall>\n",
        ] {
            let call = MethodCall::parse_xml(xml.as_bytes()).expect(xml);
            assert_eq!(call.method, "system.listMethods");
            assert!(call.params.is_empty());
        }
    }

    #[test]
    fn method_responses_round_trip() {
        let success =
            MethodResponse::Success(Value::record([("Status", Value::string("Success"))]));
        assert_eq!(
            String::from_utf8(success.to_xml()).expect("UTF-8"),
            "<?xml version=\"1.0\"?><methodResponse><params><param><value><struct><member>\
             <name>Status</name><value>Success</value></member></struct></value></param>\
             </params></methodResponse>"
        );
        assert_eq!(MethodResponse::parse_xml(&success.to_xml()), Ok(success));
        let fault = MethodResponse::Fault(Value::record([("faultCode", Value::Int(4))]));
        let decoded = MethodResponse::parse_xml(&fault.to_xml()).expect("own output");
        assert_eq!(
            decoded,
            MethodResponse::Fault(Value::record([("faultCode", Value::string("4"))]))
        );
    }

    #[test]
    fn malformed_calls_and_responses_are_errors() {
        for xml in [
            "<methodCall></methodCall>",
            "<methodCall><methodName>a</methodName><params><value>x</value></params></methodCall>",
            "<methodCall><methodName>a</methodName><params><param></param></params></methodCall>",
            "<methodCall><methodName>a</methodName></methodCall><x/>",
            "<methodResponse></methodResponse>",
        ] {
            assert!(MethodCall::parse_xml(xml.as_bytes()).is_err(), "{xml}");
        }
        for xml in [
            "<methodResponse><params></params></methodResponse>",
            "<methodResponse><params><param><value>a</value></param><param><value>b</value>\
             </param></params></methodResponse>",
            "<methodResponse><fault></fault></methodResponse>",
            "<methodCall><methodName>a</methodName></methodCall>",
        ] {
            assert!(MethodResponse::parse_xml(xml.as_bytes()).is_err(), "{xml}");
        }
    }

    #[test]
    fn nesting_is_limited() {
        let depth = MAX_VALUE_DEPTH + 1;
        let xml = "<value><array><data>".repeat(depth - 1)
            + "<value>x</value>"
            + &"</data></array></value>".repeat(depth - 1);
        assert!(matches!(parse(&xml), Err(XmlRpcError { .. })));
        let ok_depth = MAX_VALUE_DEPTH;
        let xml = "<value><array><data>".repeat(ok_depth - 1)
            + "<value>x</value>"
            + &"</data></array></value>".repeat(ok_depth - 1);
        assert!(parse(&xml).is_ok());
    }

    #[test]
    fn malformed_documents_are_typed_errors() {
        for xml in [
            "",
            "<value>",
            "<value>a</wrong>",
            "<value><int>x</int></value>",
            "<value><boolean>true</boolean></value>",
            "<value><unknown>1</unknown></value>",
            "<value>text<string>a</string></value>",
            "<value><string>a</string><string>b</string></value>",
            "<value><struct><name>a</name></struct></value>",
            "<value><struct><member><value>a</value></member></struct></value>",
            "<value><array><value>a</value></array></value>",
            "<value>&bogus;</value>",
            "<value>a & b</value>",
            "<value>a</value><value>b</value>",
            "<!DOCTYPE x [<!ENTITY e \"y\">]><value>&e;</value>",
            "<value><nil>x</nil></value>",
            "<struct></struct>",
        ] {
            assert!(
                matches!(parse(xml), Err(XmlRpcError { .. })),
                "{xml:?} should be rejected"
            );
        }
        assert!(matches!(
            Value::parse_xml(b"<value>\xff</value>"),
            Err(XmlRpcError { .. })
        ));
    }
}
