//! YAWL's XPath predicates and XQuery mappings, translated to CEL.
//!
//! YAWL evaluates its data expressions with Saxon over the net's XML document. knhk's
//! expressions are CEL over JSON net data, so the import translates each expression
//! once, here, and reports the ones it cannot translate. There is no XQuery engine in
//! Rust to borrow, and YAWL specifications use a small, regular part of the language,
//! so this is a hand-written parser ([`parse`]) and translator ([`translate`]) for that
//! part, documented with examples in `docs/yawl-import.md`:
//!
//! - paths to net variables (`/Net/var`, `/Net/var/text()`, `/data/var/field`,
//!   `/Net/list/*`) become variable references (`var`, `var.field`);
//! - literals, `= != < <= > >=` and `eq ne lt le gt ge`, `+ - * div idiv mod`,
//!   `and or not()`, `true() false()`, `number() string() boolean() count() exists()
//!   empty() contains() starts-with() ends-with() string-length() concat()`,
//!   `if (c) then a else b` and `for $d in list return ...`;
//! - element constructors `<x>{expr}</x>` give `expr`'s value; constructors of several
//!   named elements give a CEL map.
//!
//! Everything else (other functions such as `sum()` or `random()`, predicates in
//! brackets, axes, attributes) is refused with an [`XPathError`] naming the construct.
//! The caller decides what a refusal means (an error, or a warning in lenient mode).

mod parse;
mod translate;

#[cfg(test)]
mod tests;

pub(crate) use translate::{Object, Root, Scope, VarInfo, Vars, quote};

/// Why an XPath or XQuery expression could not be translated to CEL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum XPathError {
    /// The expression does not parse.
    #[error("syntax error at offset {offset}: expected {expected}")]
    Syntax {
        /// Character offset into the expression.
        offset: usize,
        /// What the parser expected there.
        expected: &'static str,
    },
    /// The expression uses a construct the translator does not handle.
    #[error("not translatable to CEL: {construct}")]
    Unsupported {
        /// The construct.
        construct: String,
    },
}

/// A flow predicate: a CEL boolean expression.
pub(crate) fn predicate(source: &str, scope: &Scope<'_>) -> Result<String, XPathError> {
    let expr = parse::parse(source)?;
    translate::condition(&expr, scope)
}

/// A mapping (or any value query): CEL source text and the name of the element the
/// query builds, if it builds one.
pub(crate) fn mapping(
    source: &str,
    scope: &Scope<'_>,
) -> Result<(String, Option<String>), XPathError> {
    let expr = parse::parse(source)?;
    let name = translate::element_name(&expr).map(str::to_owned);
    Ok((translate::plain(&expr, scope)?, name))
}

/// An MI task's split: `expression` builds a document from the net data, and
/// `splitting` cuts it into one item per instance. Gives a CEL expression for the
/// array of items.
pub(crate) fn split(
    expression: &str,
    splitting: &str,
    scope: &Scope<'_>,
) -> Result<String, XPathError> {
    let (source, name) = mapping(expression, scope)?;
    let splitting = parse::parse(splitting)?;
    let root = Root {
        // An unnamed source document (a computed value) is accepted under any name.
        names: match name {
            Some(name) => vec![name],
            None => root_names(&splitting),
        },
        object: Object::List {
            code: parenthesised(&source),
            item: None,
        },
    };
    let mut inner = scope.clone();
    inner.roots = vec![root];
    translate::plain(&splitting, &inner)
}

/// An MI task's output: `formal` builds one element from each instance's output
/// (seen through `instance`, where the output is the CEL variable `o`), and `joining`
/// gathers those elements from a document named after `roots`. Gives a CEL
/// expression over `output`, the array of instance outputs.
pub(crate) fn mi_output(
    formal: &str,
    joining: &str,
    instance: &Scope<'_>,
    roots: Vec<String>,
) -> Result<String, XPathError> {
    let (each, name) = mapping(formal, instance)?;
    let list = if each == "o" {
        "output".to_owned()
    } else {
        format!("output.map(o, {each})")
    };
    let joining = parse::parse(joining)?;
    let scope = Scope::new(vec![Root {
        names: roots,
        object: Object::List {
            code: list,
            item: name,
        },
    }]);
    translate::plain(&joining, &scope)
}

/// Wraps CEL code in parentheses unless it is a plain reference.
fn parenthesised(code: &str) -> String {
    if code
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.'))
    {
        code.to_owned()
    } else {
        format!("({code})")
    }
}

/// The document names an expression starts its absolute paths from.
fn root_names(expr: &parse::Expr) -> Vec<String> {
    let mut names = Vec::new();
    collect_roots(expr, &mut names);
    names
}

fn collect_roots(expr: &parse::Expr, names: &mut Vec<String>) {
    use parse::{Content, Expr, Start, Step};
    match expr {
        Expr::Path(path) => {
            if let (Start::Root, Some(Step::Name(name))) = (&path.start, path.steps.first())
                && !names.contains(name)
            {
                names.push(name.clone());
            }
        }
        Expr::Call(_, args) | Expr::Sequence(args) => {
            args.iter().for_each(|a| collect_roots(a, names));
        }
        Expr::Neg(a) => collect_roots(a, names),
        Expr::Arith(_, a, b) | Expr::Cmp(_, a, b) | Expr::And(a, b) | Expr::Or(a, b) => {
            collect_roots(a, names);
            collect_roots(b, names);
        }
        Expr::If(a, b, c) => {
            collect_roots(a, names);
            collect_roots(b, names);
            collect_roots(c, names);
        }
        Expr::For(_, a, b) => {
            collect_roots(a, names);
            collect_roots(b, names);
        }
        Expr::Element(_, content) => {
            for part in content {
                if let Content::Enclosed(e) | Content::Element(e) = part {
                    collect_roots(e, names);
                }
            }
        }
        Expr::Int(_) | Expr::Dec(_) | Expr::Str(_) | Expr::Empty => {}
    }
}
