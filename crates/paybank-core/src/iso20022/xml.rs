//! The XML layer under the messages: a bounded reader that turns a document into a small element
//! tree with resolved namespaces, path-aware lookups on that tree, and an indenting writer that
//! tracks its element path so the writers' validation errors name the same paths as the reader's.

use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesDecl, BytesEnd, BytesRef, BytesStart, BytesText, Event};
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;
use quick_xml::writer::Writer;
use quick_xml::XmlVersion;

use super::{IsoError, MESSAGE_SIZE_MAX};

/// Deepest nesting accepted; ISO messages stay far below it, hostile input does not.
const DEPTH_MAX: usize = 64;

/// One element with its resolved namespace, its attributes by local name, its own text and its
/// child elements in document order.
#[derive(Debug, Default)]
pub(super) struct Element {
    pub namespace: Option<String>,
    pub name: String,
    attributes: Vec<(String, String)>,
    text: String,
    children: Vec<Element>,
}

impl Element {
    fn open(namespace: ResolveResult<'_>, start: &BytesStart<'_>) -> Result<Element, IsoError> {
        let namespace = match namespace {
            ResolveResult::Bound(ns) => Some(ns.0.to_string()),
            ResolveResult::Unbound => None,
            ResolveResult::Unknown(prefix) => {
                return Err(IsoError::Xml(format!(
                    "unknown namespace prefix `{prefix}`"
                )))
            }
        };
        let mut attributes = Vec::new();
        for attribute in start.attributes() {
            let attribute = attribute.map_err(|err| IsoError::Xml(err.to_string()))?;
            let key = attribute.key;
            if key.as_namespace_binding().is_some() {
                continue;
            }
            let value = attribute
                .normalized_value(XmlVersion::Implicit1_0)
                .map_err(|err| IsoError::Xml(err.to_string()))?;
            let local = key.local_name();
            attributes.push((local.as_ref().to_string(), value.into_owned()));
        }
        Ok(Element {
            namespace,
            name: start.local_name().as_ref().to_string(),
            attributes,
            ..Element::default()
        })
    }

    /// The first element in document order, this one included, with this local name; how the
    /// envelope finds `AppHdr` and `Document` whatever wraps them.
    pub fn find_named(&self, name: &str) -> Option<&Element> {
        if self.name == name {
            return Some(self);
        }
        self.children
            .iter()
            .find_map(|child| child.find_named(name))
    }
}

/// Parses `xml` into its root element. Comments, processing instructions and the declaration
/// are skipped; a DTD is refused so no entity can expand the input.
pub(super) fn parse(xml: &str) -> Result<Element, IsoError> {
    if xml.len() > MESSAGE_SIZE_MAX {
        return Err(IsoError::TooLarge {
            size: xml.len(),
            max: MESSAGE_SIZE_MAX,
        });
    }
    let mut reader = NsReader::from_str(xml);
    reader.config_mut().expand_empty_elements = true;
    let mut open: Vec<Element> = Vec::new();
    let mut root = None;
    loop {
        let (namespace, event) = match reader.read_resolved_event() {
            Ok(read) => read,
            Err(err) => {
                let at = reader.error_position();
                return Err(IsoError::Xml(format!("{err} (at byte {at})")));
            }
        };
        match event {
            Event::Start(start) => {
                if open.len() == DEPTH_MAX {
                    return Err(IsoError::Xml(format!("nesting deeper than {DEPTH_MAX}")));
                }
                if root.is_some() {
                    return Err(IsoError::Xml("more than one root element".to_string()));
                }
                open.push(Element::open(namespace, &start)?);
            }
            Event::End(_) => {
                let element = open
                    .pop()
                    .ok_or_else(|| IsoError::Xml("stray end tag".into()))?;
                match open.last_mut() {
                    Some(parent) => parent.children.push(element),
                    None => root = Some(element),
                }
            }
            Event::Text(text) => push_text(&mut open, &text.xml10_content())?,
            Event::CData(data) => push_text(&mut open, &data.xml10_content())?,
            Event::GeneralRef(reference) => push_text(&mut open, &resolve(&reference)?)?,
            Event::DocType(_) => {
                return Err(IsoError::Xml(
                    "a document type declaration is not accepted".into(),
                ))
            }
            Event::Eof => break,
            Event::Decl(_) | Event::Comment(_) | Event::PI(_) | Event::Empty(_) => {}
        }
    }
    if !open.is_empty() {
        return Err(IsoError::Xml(
            "the document ends inside an element".to_string(),
        ));
    }
    root.ok_or_else(|| IsoError::Xml("no root element".to_string()))
}

/// The text a character reference or one of XML's five predefined entities stands for.
fn resolve(reference: &BytesRef<'_>) -> Result<String, IsoError> {
    match reference.resolve_char_ref() {
        Ok(Some(ch)) => Ok(ch.to_string()),
        Ok(None) => resolve_predefined_entity(reference)
            .map(str::to_string)
            .ok_or_else(|| IsoError::Xml(format!("unknown entity &{};", &**reference))),
        Err(err) => Err(IsoError::Xml(err.to_string())),
    }
}

/// Adds character data to the innermost open element; outside the root only whitespace may be.
fn push_text(open: &mut [Element], text: &str) -> Result<(), IsoError> {
    match open.last_mut() {
        Some(element) => element.text.push_str(text),
        None if text.trim().is_empty() => {}
        None => return Err(IsoError::Xml("text outside the root element".to_string())),
    }
    Ok(())
}

/// An element of a message part (`AppHdr` or `Document`) with its path from the part's root.
/// Children are looked up by local name within the part's namespace, so prefixes do not matter
/// and foreign elements (supplementary data) are never mistaken for ISO ones.
#[derive(Clone, Debug)]
pub(super) struct Node<'a> {
    element: &'a Element,
    path: String,
}

impl<'a> Node<'a> {
    /// The root of a message part; its path is its local name.
    pub fn root(element: &'a Element) -> Node<'a> {
        Node {
            element,
            path: element.name.clone(),
        }
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    fn path_of(&self, name: &str) -> String {
        format!("{}/{name}", self.path)
    }

    /// The children with this local name, in document order.
    pub fn children(&self, name: &'a str) -> impl Iterator<Item = Node<'a>> + '_ {
        let namespace = self.element.namespace.as_deref();
        self.element
            .children
            .iter()
            .filter(move |c| c.name == name && c.namespace.as_deref() == namespace)
            .map(move |element| Node {
                element,
                path: self.path_of(name),
            })
    }

    /// The first child with this local name, if any.
    pub fn child(&self, name: &'a str) -> Option<Node<'a>> {
        self.children(name).next()
    }

    /// The child at the end of `names`, or an error naming the first element that is missing.
    pub fn require(&self, names: &[&'a str]) -> Result<Node<'a>, IsoError> {
        let mut node = self.clone();
        for name in names {
            node = node.child(name).ok_or_else(|| IsoError::Missing {
                path: node.path_of(name),
            })?;
        }
        Ok(node)
    }

    /// The child at the end of `names` if every step is present.
    pub fn optional(&self, names: &[&'a str]) -> Option<Node<'a>> {
        let mut node = self.clone();
        for name in names {
            node = node.child(name)?;
        }
        Some(node)
    }

    /// This element's text exactly as written (ISO strings keep their whitespace).
    pub fn text(&self) -> &'a str {
        &self.element.text
    }

    /// This element's text without surrounding whitespace, for codes, numbers and dates, whose
    /// XML Schema types collapse whitespace.
    pub fn token(&self) -> &'a str {
        self.element.text.trim()
    }

    pub fn attribute(&self, name: &str) -> Option<&'a str> {
        let attributes = self.element.attributes.iter();
        attributes
            .filter(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
            .next()
    }

    /// An error about this element.
    pub fn invalid(&self, reason: String) -> IsoError {
        IsoError::Invalid {
            path: self.path.clone(),
            reason,
        }
    }
}

/// An indenting XML writer that knows the path of the element being written.
pub(super) struct XmlOut {
    writer: Writer<Vec<u8>>,
    path: Vec<&'static str>,
}

impl XmlOut {
    /// Starts a document with the XML declaration.
    pub fn new() -> XmlOut {
        let mut out = XmlOut {
            writer: Writer::new_with_indent(Vec::new(), b' ', 4),
            path: Vec::new(),
        };
        out.emit(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)));
        out
    }

    /// Writing into a `Vec` cannot fail, so the writer's `io::Result` carries no information.
    fn emit(&mut self, event: Event<'_>) {
        self.writer
            .write_event(event)
            .expect("writing XML into a Vec<u8> cannot fail");
    }

    /// The path of `name` written inside the current element, as the reader would report it.
    /// The envelope's own elements are left out: paths start at `AppHdr` or `Document`.
    pub fn path_of(&self, name: &str) -> String {
        let start = self
            .path
            .iter()
            .position(|part| *part == "AppHdr" || *part == "Document")
            .unwrap_or(self.path.len());
        let mut parts: Vec<&str> = self.path[start..].to_vec();
        parts.push(name);
        parts.join("/")
    }

    /// An error about the element `name` inside the current one.
    pub fn invalid(&self, name: &str, reason: String) -> IsoError {
        IsoError::Invalid {
            path: self.path_of(name),
            reason,
        }
    }

    pub fn open(&mut self, name: &'static str) {
        self.emit(Event::Start(BytesStart::new(name)));
        self.path.push(name);
    }

    /// Opens an element that declares `namespace` as the default for its content.
    pub fn open_namespaced(&mut self, name: &'static str, namespace: &str) {
        let start = BytesStart::new(name).with_attributes([("xmlns", namespace)]);
        self.emit(Event::Start(start));
        self.path.push(name);
    }

    pub fn close(&mut self) {
        if let Some(name) = self.path.pop() {
            self.emit(Event::End(BytesEnd::new(name)));
        }
    }

    /// `<name>text</name>`; `text` is escaped.
    pub fn leaf(&mut self, name: &'static str, text: &str) {
        self.emit(Event::Start(BytesStart::new(name)));
        self.emit(Event::Text(BytesText::new(text)));
        self.emit(Event::End(BytesEnd::new(name)));
    }

    /// `<name key="value">text</name>`.
    pub fn leaf_with_attribute(&mut self, name: &'static str, attribute: (&str, &str), text: &str) {
        let start = BytesStart::new(name).with_attributes([attribute]);
        self.emit(Event::Start(start));
        self.emit(Event::Text(BytesText::new(text)));
        self.emit(Event::End(BytesEnd::new(name)));
    }

    /// Checks `text` as an ISO `MaxNNText` of at most `max` characters, then writes it.
    pub fn text_leaf(
        &mut self,
        name: &'static str,
        text: &str,
        max: usize,
    ) -> Result<(), IsoError> {
        super::validate::text(text, max).map_err(|reason| self.invalid(name, reason))?;
        self.leaf(name, text);
        Ok(())
    }

    /// Like [`XmlOut::text_leaf`] but writes nothing for `None`.
    pub fn optional_text_leaf(
        &mut self,
        name: &'static str,
        text: Option<&str>,
        max: usize,
    ) -> Result<(), IsoError> {
        match text {
            Some(text) => self.text_leaf(name, text, max),
            None => Ok(()),
        }
    }

    /// The finished document.
    pub fn finish(self) -> String {
        let bytes = self.writer.into_inner();
        // Every piece written was a `&str`, so the bytes are UTF-8.
        String::from_utf8(bytes).expect("the writer only received UTF-8")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_entities_comments_and_cdata_are_read() {
        let xml = "<?xml version=\"1.0\"?><!-- note --><a:Doc xmlns:a=\"urn:x\">\
                   <a:Nm>A &amp; B&#33;<![CDATA[ <c>]]></a:Nm><Other xmlns=\"urn:y\"/></a:Doc>";
        let root = parse(xml).unwrap();
        let doc = Node::root(&root);
        assert_eq!(root.namespace.as_deref(), Some("urn:x"));
        assert_eq!(doc.require(&["Nm"]).unwrap().text(), "A & B! <c>");
        assert!(
            doc.child("Other").is_none(),
            "another namespace is not ours"
        );
        let missing = doc.require(&["Nm", "Sub"]).unwrap_err();
        assert_eq!(missing.path(), Some("Doc/Nm/Sub"));
    }

    #[test]
    fn hostile_or_broken_input_is_refused() {
        let deep = "<a>".repeat(DEPTH_MAX + 1) + &"</a>".repeat(DEPTH_MAX + 1);
        let dtd = "<!DOCTYPE a [<!ENTITY e \"x\">]><a>&e;</a>";
        for bad in [
            deep.as_str(),
            dtd,
            "<a><b></a>",
            "<a>",
            "",
            "<a/><b/>",
            "<a>&e;</a>",
        ] {
            assert!(matches!(parse(bad), Err(IsoError::Xml(_))), "{bad}");
        }
        let big = format!("<a>{}</a>", " ".repeat(MESSAGE_SIZE_MAX));
        assert!(matches!(parse(&big), Err(IsoError::TooLarge { .. })));
    }

    #[test]
    fn the_writer_escapes_and_indents() {
        let mut out = XmlOut::new();
        out.open_namespaced("Document", "urn:x");
        out.leaf("Nm", "A & <B>");
        out.close();
        let xml = out.finish();
        assert_eq!(
            xml,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Document xmlns=\"urn:x\">\n    \
             <Nm>A &amp; &lt;B&gt;</Nm>\n</Document>"
        );
    }
}
