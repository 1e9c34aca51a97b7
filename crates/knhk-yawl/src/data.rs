//! YAWL data declarations as JSON types and values.
//!
//! A YAWL variable has an XML Schema type and its value is XML; knhk net data is JSON.
//! Types map as follows: XSD strings, dates, times, durations and URIs give
//! [`DataType::String`]; `boolean` gives `Boolean`; the integer types give `Integer`;
//! `decimal`, `double` and `float` give `Number`; a complex type declared in the
//! specification's own schema gives `Array` when it is a sequence of one repeated
//! element, `Object` otherwise; anything else (types from external schemas such as
//! `stub:StubListType`, `anyType`) gives `Any`.
//!
//! Values (initial values) convert by the declared type: scalar text is parsed as the
//! scalar (`"150"` for a `long` gives `150`, decimals give JSON doubles). Any other
//! text is read as XML content and converted by [`content`]'s rule.

use std::collections::BTreeMap;

use knhk_model::DataType;
use roxmltree::Node;
use serde_json::{Map, Number, Value};

/// The XML Schema namespace.
pub(crate) const XSD: &str = "http://www.w3.org/2001/XMLSchema";

/// The named types of the specification's inline schema.
#[derive(Debug, Default)]
pub(crate) struct Schema {
    types: BTreeMap<String, DataType>,
}

impl Schema {
    /// Reads the named `complexType`s and `simpleType`s of an `xs:schema` element.
    pub(crate) fn read(schema: Node<'_, '_>) -> Self {
        let mut types = BTreeMap::new();
        for node in schema
            .children()
            .filter(|n| n.tag_name().namespace() == Some(XSD))
        {
            let Some(name) = node.attribute("name") else {
                continue;
            };
            let data_type = match node.tag_name().name() {
                "complexType" if is_list(node) => DataType::Array,
                "complexType" => DataType::Object,
                "simpleType" => xsd_children(node)
                    .find(|n| n.tag_name().name() == "restriction")
                    .and_then(|r| r.attribute("base"))
                    .map_or(DataType::Any, |base| {
                        builtin(local(base)).unwrap_or(DataType::Any)
                    }),
                _ => continue,
            };
            types.insert(name.to_owned(), data_type);
        }
        Schema { types }
    }

    /// The JSON type of a YAWL variable whose `type` element says `type_name`, with
    /// namespace `namespace` (the `namespace` element, or the prefix's binding).
    pub(crate) fn data_type(&self, type_name: &str, namespace: Option<&str>) -> DataType {
        let (prefix, name) = match type_name.split_once(':') {
            Some((prefix, name)) => (Some(prefix), name),
            None => (None, type_name),
        };
        let xsd = namespace == Some(XSD) || matches!(prefix, Some("xs" | "xsd"));
        if xsd && let Some(t) = builtin(name) {
            return t;
        }
        if let Some(t) = self.types.get(name) {
            return *t;
        }
        // An unprefixed name with no namespace: YAWL's editor writes XSD types so.
        if prefix.is_none() && namespace.is_none() {
            return builtin(name).unwrap_or(DataType::Any);
        }
        DataType::Any
    }
}

fn local(name: &str) -> &str {
    name.rsplit_once(':').map_or(name, |(_, local)| local)
}

fn xsd_children<'a, 'i>(node: Node<'a, 'i>) -> impl Iterator<Item = Node<'a, 'i>> {
    node.children()
        .filter(|n| n.is_element() && n.tag_name().namespace() == Some(XSD))
}

/// A complex type that is a sequence of exactly one element, repeated.
fn is_list(complex: Node<'_, '_>) -> bool {
    let Some(sequence) = xsd_children(complex).find(|n| n.tag_name().name() == "sequence") else {
        return false;
    };
    let elements: Vec<_> = xsd_children(sequence).collect();
    match elements.as_slice() {
        [element] => {
            element.tag_name().name() == "element"
                && element
                    .attribute("maxOccurs")
                    .is_some_and(|m| m == "unbounded" || m.parse::<u64>().is_ok_and(|n| n > 1))
        }
        _ => false,
    }
}

/// The JSON type of an XSD built-in type.
fn builtin(name: &str) -> Option<DataType> {
    Some(match name {
        "string" | "normalizedString" | "token" | "language" | "Name" | "NCName" | "NMTOKEN"
        | "ID" | "IDREF" | "ENTITY" | "QName" | "anyURI" | "date" | "dateTime" | "time"
        | "duration" | "gYear" | "gYearMonth" | "gMonth" | "gMonthDay" | "gDay" | "hexBinary"
        | "base64Binary" | "dayTimeDuration" | "yearMonthDuration" => DataType::String,
        "boolean" => DataType::Boolean,
        "integer" | "int" | "long" | "short" | "byte" | "nonNegativeInteger"
        | "positiveInteger" | "negativeInteger" | "nonPositiveInteger" | "unsignedLong"
        | "unsignedInt" | "unsignedShort" | "unsignedByte" => DataType::Integer,
        "decimal" | "double" | "float" => DataType::Number,
        "anyType" | "anySimpleType" => DataType::Any,
        _ => return None,
    })
}

/// Converts a YAWL value (the text of `initialValue`) to JSON by its type; `None` if
/// the text does not fit the type.
pub(crate) fn value(text: &str, data_type: DataType) -> Option<Value> {
    let trimmed = text.trim();
    match data_type {
        DataType::String => Some(Value::String(text.to_owned())),
        DataType::Boolean => match trimmed {
            "true" | "1" => Some(Value::Bool(true)),
            "false" | "0" => Some(Value::Bool(false)),
            _ => None,
        },
        DataType::Integer => {
            let digits = trimmed.strip_prefix('+').unwrap_or(trimmed);
            digits
                .parse::<i64>()
                .map(Value::from)
                .or_else(|_| digits.parse::<u64>().map(Value::from))
                .ok()
        }
        DataType::Number => {
            let digits = trimmed.strip_prefix('+').unwrap_or(trimmed);
            let number = digits.parse::<f64>().ok()?;
            Number::from_f64(number).map(Value::Number)
        }
        DataType::Array | DataType::Object | DataType::Any => structured(text, data_type),
    }
}

/// Deepest element nesting converted: a bound on recursion for hostile input.
const DEPTH_MAX: usize = 256;

/// A value of a complex or unknown type: XML content, or plain text.
fn structured(text: &str, data_type: DataType) -> Option<Value> {
    if !text.contains('<') {
        return match data_type {
            DataType::Any => Some(Value::String(text.to_owned())),
            DataType::Array if text.trim().is_empty() => Some(Value::Array(Vec::new())),
            DataType::Object if text.trim().is_empty() => Some(Value::Object(Map::new())),
            _ => None,
        };
    }
    // Undeclared prefixes in the fragment would make it malformed: declare the usual
    // ones on the wrapper.
    let wrapped = format!(
        "<v xmlns:xs=\"{XSD}\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">{text}</v>"
    );
    let Ok(doc) = roxmltree::Document::parse(&wrapped) else {
        return (data_type == DataType::Any).then(|| Value::String(text.to_owned()));
    };
    let converted = content(doc.root_element(), data_type == DataType::Array)?;
    let fits = match data_type {
        DataType::Array => converted.is_array(),
        DataType::Object => converted.is_object(),
        _ => true,
    };
    if fits {
        Some(converted)
    } else if data_type == DataType::Object {
        // A list-shaped value of an object type: keep the element names.
        object(doc.root_element(), 0).map(Value::Object)
    } else {
        None
    }
}

/// The JSON form of an element's content.
///
/// - No child elements: the text, or `null` if there is none.
/// - Child elements that form a list (`list` asks for one; otherwise two or more
///   children that all have the same name): an array of their values.
/// - Other child elements: an object from names to values; a name that repeats gets
///   an array of its values.
///
/// Attributes, comments, and text between child elements are not part of the value.
/// `None` if the elements nest deeper than [`DEPTH_MAX`].
pub(crate) fn content(element: Node<'_, '_>, list: bool) -> Option<Value> {
    nested(element, list, 0)
}

fn nested(element: Node<'_, '_>, list: bool, depth: usize) -> Option<Value> {
    if depth > DEPTH_MAX {
        return None;
    }
    let children: Vec<_> = element.children().filter(Node::is_element).collect();
    if children.is_empty() {
        let text: String = element
            .children()
            .filter(Node::is_text)
            .filter_map(|n| n.text())
            .collect();
        return Some(if text.is_empty() {
            Value::Null
        } else {
            Value::String(text)
        });
    }
    let same_name = children
        .windows(2)
        .all(|w| w[0].tag_name().name() == w[1].tag_name().name());
    if list || (children.len() > 1 && same_name) {
        children
            .iter()
            .map(|c| nested(*c, false, depth + 1))
            .collect::<Option<Vec<_>>>()
            .map(Value::Array)
    } else {
        object(element, depth).map(Value::Object)
    }
}

fn object(element: Node<'_, '_>, depth: usize) -> Option<Map<String, Value>> {
    let children: Vec<_> = element.children().filter(Node::is_element).collect();
    let mut map = Map::new();
    for child in &children {
        let name = child.tag_name().name();
        let value = nested(*child, false, depth + 1)?;
        let count = children
            .iter()
            .filter(|c| c.tag_name().name() == name)
            .count();
        if count == 1 {
            map.insert(name.to_owned(), value);
        } else if let Value::Array(items) = map
            .entry(name.to_owned())
            .or_insert_with(|| Value::Array(Vec::new()))
        {
            items.push(value);
        }
    }
    Some(map)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn scalars_by_type() {
        assert_eq!(value("150", DataType::Integer), Some(json!(150)));
        assert_eq!(value(" +7 ", DataType::Integer), Some(json!(7)));
        assert_eq!(value("1.5", DataType::Integer), None);
        assert_eq!(value("2.5", DataType::Number), Some(json!(2.5)));
        assert_eq!(value("3", DataType::Number), Some(json!(3.0)));
        assert_eq!(value("NaN", DataType::Number), None);
        assert_eq!(value("false", DataType::Boolean), Some(json!(false)));
        assert_eq!(value("1", DataType::Boolean), Some(json!(true)));
        assert_eq!(value("yes", DataType::Boolean), None);
        assert_eq!(value(" Bike ", DataType::String), Some(json!(" Bike ")));
    }

    #[test]
    fn xml_content() {
        assert_eq!(
            value("<stub/><stub/><stub/>", DataType::Any),
            Some(json!([null, null, null]))
        );
        assert_eq!(value("<stub/>", DataType::Any), Some(json!({"stub": null})));
        assert_eq!(value("<bob>x</bob>", DataType::Array), Some(json!(["x"])));
        assert_eq!(
            value(
                "<leg><from>a</from><to>b</to></leg><leg><from>b</from><to>c</to></leg>",
                DataType::Any
            ),
            Some(json!([{"from": "a", "to": "b"}, {"from": "b", "to": "c"}]))
        );
        assert_eq!(
            value("<a>1</a><b>2</b><b>3</b><b>4</b>", DataType::Any),
            Some(json!({"a": "1", "b": ["2", "3", "4"]}))
        );
        assert_eq!(
            value("<b>2</b><b>3</b>", DataType::Object),
            Some(json!({"b": ["2", "3"]}))
        );
        assert_eq!(value("plain", DataType::Any), Some(json!("plain")));
        assert_eq!(value("plain", DataType::Array), None);
        assert_eq!(value("", DataType::Array), Some(json!([])));
        assert_eq!(value("<broken>", DataType::Any), Some(json!("<broken>")));
        assert_eq!(value("<broken>", DataType::Object), None);
        let deep = format!("{}{}", "<a>".repeat(300), "</a>".repeat(300));
        assert_eq!(value(&deep, DataType::Any), None);
    }

    #[test]
    fn types() {
        let schema = Schema::default();
        assert_eq!(schema.data_type("xs:string", None), DataType::String);
        assert_eq!(schema.data_type("long", Some(XSD)), DataType::Integer);
        assert_eq!(schema.data_type("integer", None), DataType::Integer);
        assert_eq!(schema.data_type("xs:decimal", None), DataType::Number);
        assert_eq!(schema.data_type("xs:dateTime", None), DataType::String);
        assert_eq!(schema.data_type("stub:StubListType", None), DataType::Any);
        assert_eq!(schema.data_type("xs:DateTime", None), DataType::Any);
        let doc = roxmltree::Document::parse(
            r#"<schema xmlns="http://www.w3.org/2001/XMLSchema">
                 <complexType name="BobList"><sequence>
                   <element maxOccurs="unbounded" name="bob" type="string"/>
                 </sequence></complexType>
                 <complexType name="Pair"><sequence>
                   <element name="a" type="string"/><element name="b" type="string"/>
                 </sequence></complexType>
                 <simpleType name="Age"><restriction base="xs:int"/></simpleType>
               </schema>"#,
        )
        .unwrap();
        let schema = Schema::read(doc.root_element());
        assert_eq!(schema.data_type("BobList", Some(XSD)), DataType::Array);
        assert_eq!(schema.data_type("Pair", None), DataType::Object);
        assert_eq!(schema.data_type("Age", None), DataType::Integer);
    }
}
