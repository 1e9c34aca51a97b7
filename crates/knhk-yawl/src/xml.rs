//! Small helpers over `roxmltree` for reading a YAWL document: children in the YAWL
//! namespace, text, attributes, lines, and wrapping errors with where they happened.

use roxmltree::Node;

use crate::YawlError;

/// The namespace of YAWL schema 2.0 to 4.0.
pub(crate) const YAWL: &str = "http://www.yawlfoundation.org/yawlschema";
/// The namespace of YAWL's Beta schemas.
pub(crate) const YAWL_BETA: &str = "http://www.citi.qut.edu.au/yawl";
/// The XML Schema instance namespace (`xsi:type`).
pub(crate) const XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";

/// How to read a YAWL document: the namespace its elements are in, and where its
/// lines start.
#[derive(Clone, Copy)]
pub(crate) struct Xml<'a> {
    pub(crate) ns: &'a str,
    /// The byte offsets of the document's newlines, so that finding a node's line is
    /// a binary search (`Document::text_pos_at` rescans the text each time).
    pub(crate) newlines: &'a [usize],
}

/// The byte offsets of the newlines in `text`.
pub(crate) fn newlines(text: &str) -> Vec<usize> {
    text.bytes()
        .enumerate()
        .filter(|(_, b)| *b == b'\n')
        .map(|(i, _)| i)
        .collect()
}

impl<'a> Xml<'a> {
    /// The 1-based line where `node` starts.
    pub(crate) fn line(&self, node: Node<'_, '_>) -> u32 {
        let before = self.newlines.partition_point(|&nl| nl < node.range().start);
        u32::try_from(before + 1).unwrap_or(u32::MAX)
    }

    /// The child elements of `node` named `name` in the YAWL namespace.
    pub(crate) fn children<'n, 'i>(
        &self,
        node: Node<'n, 'i>,
        name: &'static str,
    ) -> impl Iterator<Item = Node<'n, 'i>> + use<'n, 'i, 'a> {
        let ns = self.ns;
        node.children().filter(move |n| {
            n.is_element() && n.tag_name().name() == name && n.tag_name().namespace() == Some(ns)
        })
    }

    /// The first child element of `node` named `name`.
    pub(crate) fn child<'n, 'i>(
        &self,
        node: Node<'n, 'i>,
        name: &'static str,
    ) -> Option<Node<'n, 'i>> {
        self.children(node, name).next()
    }

    /// The first child element of `node` named `name`, or an error naming it.
    pub(crate) fn require<'n, 'i>(
        &self,
        node: Node<'n, 'i>,
        name: &'static str,
    ) -> Result<Node<'n, 'i>, YawlError> {
        self.child(node, name).ok_or_else(|| {
            self.at(
                node,
                YawlError::MissingElement {
                    parent: node.tag_name().name().to_owned(),
                    child: name,
                },
            )
        })
    }

    /// The text of the first child element named `name`, if it has any.
    pub(crate) fn child_text(&self, node: Node<'_, '_>, name: &'static str) -> Option<String> {
        self.child(node, name)
            .map(text)
            .filter(|t| !t.trim().is_empty())
    }

    /// An attribute, or an error naming it.
    pub(crate) fn attribute<'n>(
        &self,
        node: Node<'n, '_>,
        name: &'static str,
    ) -> Result<&'n str, YawlError> {
        node.attribute(name)
            .ok_or_else(|| self.at(node, YawlError::MissingAttribute { attribute: name }))
    }

    /// Wraps `error` with the line and name of `node`.
    pub(crate) fn at(&self, node: Node<'_, '_>, error: YawlError) -> YawlError {
        YawlError::At {
            line: self.line(node),
            element: node.tag_name().name().to_owned(),
            source: Box::new(error),
        }
    }
}

/// The text content of an element (its text children, joined).
pub(crate) fn text(node: Node<'_, '_>) -> String {
    node.children()
        .filter(Node::is_text)
        .filter_map(|n| n.text())
        .collect()
}

/// The local part of the element's `xsi:type`.
pub(crate) fn xsi_type<'a>(node: Node<'a, '_>) -> Option<&'a str> {
    node.attribute((XSI, "type"))
        .map(|t| t.rsplit_once(':').map_or(t, |(_, local)| local))
}
