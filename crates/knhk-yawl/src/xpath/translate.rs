//! From the parsed XPath/XQuery subset to CEL source text.
//!
//! Every sub-expression becomes a [`Cel`]: its code, its CEL precedence (so that
//! parentheses appear only where needed), what is known of its type, and its
//! *guards*. A guard is a condition under which a path's value is usable: `"x" in
//! data` for a variable the net does not declare, `x != null` for one declared
//! without an initial value. XPath compares an absent node as false rather than
//! failing, so a comparison, a truth test or a `count()` puts the guards of its
//! operands in front of itself; a plain value (a mapping) does not, and reads the
//! variable directly.
//!
//! Types follow XPath 2.0 with untyped net data: a node compared with a number is
//! compared as a number, with a string as a string. Where the net declares the
//! variable's type, that type is used instead of a conversion (`/Net/c = 0` is
//! `c == 0` for an integer `c`, `double(c) == 0` for an untyped one).

use std::collections::BTreeMap;

use knhk_model::DataType;

use super::XPathError;
use super::parse::{ArithOp, CmpOp, Content, Expr, Path, Start, Step};

/// What a net (or a task's output) declares about one of its variables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct VarInfo {
    /// The variable's type.
    pub(crate) data_type: DataType,
    /// Whether it always holds a value (it has an initial value).
    pub(crate) initialised: bool,
}

/// Variables by name.
pub(crate) type Vars = BTreeMap<String, VarInfo>;

/// The object a document root stands for.
#[derive(Debug, Clone)]
pub(crate) enum Object<'a> {
    /// The net's data: its fields are top-level CEL variables.
    Net(&'a Vars),
    /// A CEL expression giving an object (`output`, or one MI instance's output).
    Fields {
        /// The CEL expression.
        code: String,
        /// Its declared fields, if known.
        vars: Option<&'a Vars>,
    },
    /// A CEL expression giving a list: the root's children (`/root/*`, or
    /// `/root/item` when `item` names them) are its elements.
    List {
        /// The CEL expression.
        code: String,
        /// The name of the child elements, if known.
        item: Option<String>,
    },
}

/// A document an expression can start from with `/name/...`.
#[derive(Debug, Clone)]
pub(crate) struct Root<'a> {
    /// The names its document element may have (`data`, the net or decomposition id).
    pub(crate) names: Vec<String>,
    /// What it stands for.
    pub(crate) object: Object<'a>,
}

/// What an expression sees.
#[derive(Debug, Clone, Default)]
pub(crate) struct Scope<'a> {
    /// The documents it may start from.
    pub(crate) roots: Vec<Root<'a>>,
    /// CEL bindings that hide net data fields of the same name (an MI task's item):
    /// such fields are read through `data`.
    pub(crate) hidden: Vec<String>,
    /// XPath variables (`$d`) bound by `for`, with their CEL names.
    bound: Vec<(String, String)>,
}

impl<'a> Scope<'a> {
    /// A scope of these roots.
    pub(crate) fn new(roots: Vec<Root<'a>>) -> Self {
        Scope {
            roots,
            hidden: Vec::new(),
            bound: Vec::new(),
        }
    }
}

/// CEL precedence levels, loosest first.
const TERNARY: u8 = 0;
const OR: u8 = 1;
const AND: u8 = 2;
const RELATION: u8 = 3;
const ADD: u8 = 4;
const MUL: u8 = 5;
const UNARY: u8 = 6;
const PRIMARY: u8 = 7;

/// What is known of a translated expression's type.
#[derive(Debug, Clone, PartialEq)]
enum Ty {
    Bool,
    Int,
    Double,
    Str,
    Null,
    List,
    /// A path's value: a declared type, whether `text()` was asked for, and the guard
    /// that says the element exists at all.
    Node {
        data_type: DataType,
        text: bool,
        presence: Option<String>,
    },
    Any,
}

/// A translated expression.
#[derive(Debug, Clone)]
struct Cel {
    code: String,
    prec: u8,
    ty: Ty,
    guards: Vec<String>,
    /// The text of a string literal, for folding conversions.
    literal: Option<String>,
}

impl Cel {
    fn new(code: impl Into<String>, prec: u8, ty: Ty) -> Self {
        Cel {
            code: code.into(),
            prec,
            ty,
            guards: Vec::new(),
            literal: None,
        }
    }

    /// The code, parenthesised unless it binds at least as tightly as `level`.
    fn at(&self, level: u8) -> String {
        if self.prec >= level {
            self.code.clone()
        } else {
            format!("({})", self.code)
        }
    }

    fn with_guards(mut self, guards: Vec<String>) -> Self {
        self.guards = guards;
        self
    }

    /// Puts the guards in front of a boolean: false whenever a guard fails.
    fn guarded(self) -> Cel {
        if self.guards.is_empty() {
            return self;
        }
        let mut parts = self.guards.clone();
        parts.push(self.at(AND));
        Cel::new(parts.join(" && "), AND, Ty::Bool)
    }
}

fn unsupported(construct: impl Into<String>) -> XPathError {
    XPathError::Unsupported {
        construct: construct.into(),
    }
}

/// Merges guards, keeping the first occurrence of each.
fn merge(a: &[String], b: &[String]) -> Vec<String> {
    let mut out = a.to_vec();
    for g in b {
        if !out.contains(g) {
            out.push(g.clone());
        }
    }
    out
}

const RESERVED: &[&str] = &[
    "true",
    "false",
    "null",
    "in",
    "as",
    "break",
    "const",
    "continue",
    "else",
    "for",
    "function",
    "if",
    "import",
    "let",
    "loop",
    "package",
    "namespace",
    "return",
    "var",
    "void",
    "while",
];

/// Whether `name` can be written as a bare CEL identifier.
pub(crate) fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !RESERVED.contains(&name)
}

/// A CEL string literal.
pub(crate) fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `base.name`, or `base["name"]` when `name` is not an identifier.
fn select(base: &str, name: &str) -> String {
    if is_identifier(name) {
        format!("{base}.{name}")
    } else {
        format!("{base}[{}]", quote(name))
    }
}

impl Scope<'_> {
    fn bound(&self, name: &str) -> Option<&str> {
        self.bound
            .iter()
            .rev()
            .find(|(xpath, _)| xpath == name)
            .map(|(_, cel)| cel.as_str())
    }

    /// The root document named `name`.
    fn root(&self, name: &str) -> Option<&Root<'_>> {
        self.roots
            .iter()
            .find(|r| r.names.iter().any(|n| n == name))
    }

    /// A top-level net data field.
    fn net_field(&self, name: &str) -> String {
        if is_identifier(name) && name != "data" && !self.hidden.iter().any(|h| h == name) {
            name.to_owned()
        } else {
            select("data", name)
        }
    }
}

/// Translates an expression to a value.
fn value(expr: &Expr, scope: &Scope<'_>) -> Result<Cel, XPathError> {
    Ok(match expr {
        Expr::Int(text) => Cel::new(text.clone(), PRIMARY, Ty::Int),
        Expr::Dec(text) => Cel::new(decimal(text), PRIMARY, Ty::Double),
        Expr::Str(text) => {
            let mut cel = Cel::new(quote(text), PRIMARY, Ty::Str);
            cel.literal = Some(text.clone());
            cel
        }
        Expr::Empty => Cel::new("null", PRIMARY, Ty::Null),
        Expr::Path(path) => self::path(path, scope)?,
        Expr::Call(name, args) => call(name, args, scope)?,
        Expr::Neg(operand) => {
            let operand = number(operand, scope)?;
            let ty = operand.ty.clone();
            Cel::new(format!("-{}", operand.at(UNARY)), UNARY, ty).with_guards(operand.guards)
        }
        Expr::Arith(op, left, right) => arith(*op, left, right, scope)?,
        Expr::Cmp(op, left, right) => compare(*op, left, right, scope)?,
        Expr::And(left, right) => {
            let (l, r) = (ebv(left, scope)?, ebv(right, scope)?);
            Cel::new(format!("{} && {}", l.at(AND), r.at(AND + 1)), AND, Ty::Bool)
        }
        Expr::Or(left, right) => {
            let (l, r) = (ebv(left, scope)?, ebv(right, scope)?);
            Cel::new(format!("{} || {}", l.at(OR), r.at(OR + 1)), OR, Ty::Bool)
        }
        Expr::If(cond, then, els) => {
            let cond = ebv(cond, scope)?;
            let (then, els) = (value(then, scope)?, value(els, scope)?);
            let ty = if same_kind(&then.ty, &els.ty) {
                then.ty.clone()
            } else {
                Ty::Any
            };
            let code = format!("{} ? {} : {}", cond.at(OR), then.at(OR), els.at(TERNARY));
            Cel::new(code, TERNARY, ty)
        }
        Expr::For(var, source, body) => for_return(var, source, body, scope)?,
        Expr::Element(_, content) => element(content, scope)?,
        Expr::Sequence(_) => return Err(unsupported("sequences of several items `(a, b)`")),
    })
}

/// CEL needs digits on both sides of the point.
fn decimal(text: &str) -> String {
    let mut out = text.to_owned();
    if out.starts_with('.') {
        out.insert(0, '0');
    }
    if let Some(point) = out.find('.')
        && !out[point + 1..].starts_with(|c: char| c.is_ascii_digit())
    {
        out.insert(point + 1, '0');
    }
    if !out.contains(['.', 'e', 'E']) {
        out.push_str(".0");
    }
    out
}

fn same_kind(a: &Ty, b: &Ty) -> bool {
    match (a, b) {
        (Ty::Node { data_type: x, .. }, Ty::Node { data_type: y, .. }) => x == y,
        _ => a == b,
    }
}

/// A path: from the document root, or from a `for` variable.
fn path(path: &Path, scope: &Scope<'_>) -> Result<Cel, XPathError> {
    match &path.start {
        Start::Context => Err(unsupported("relative paths")),
        Start::Var(name) => {
            let code = scope
                .bound(name)
                .ok_or_else(|| unsupported(format!("the unbound variable `${name}`")))?;
            let base = Cel::new(code, PRIMARY, node(DataType::Any, None));
            steps(base, &path.steps)
        }
        Start::Root => {
            let Some((first, rest)) = path.steps.split_first() else {
                return Err(unsupported("the document node `/`"));
            };
            let root = match first {
                Step::Name(name) => scope.root(name).ok_or_else(|| {
                    unsupported(format!(
                        "paths from `/{name}`, which is not this net's data"
                    ))
                })?,
                Step::Wildcard => scope
                    .roots
                    .first()
                    .ok_or_else(|| unsupported("paths from `/*`"))?,
                Step::Text => return Err(unsupported("the document's text")),
            };
            from_root(root, rest, scope)
        }
    }
}

fn node(data_type: DataType, presence: Option<String>) -> Ty {
    Ty::Node {
        data_type,
        text: false,
        presence,
    }
}

fn from_root(root: &Root<'_>, rest: &[Step], scope: &Scope<'_>) -> Result<Cel, XPathError> {
    match &root.object {
        Object::Net(vars) => match rest.split_first() {
            None => Ok(Cel::new("data", PRIMARY, Ty::Any)),
            Some((Step::Name(name), more)) => {
                let code = scope.net_field(name);
                let (base, guards) = field(&code, "data", name, vars.get(name.as_str()));
                steps(base.with_guards(guards), more)
            }
            Some(_) => Err(unsupported("every child of the net's data")),
        },
        Object::Fields { code, vars } => match rest.split_first() {
            None => Ok(Cel::new(code.clone(), PRIMARY, Ty::Any)),
            Some((Step::Name(name), more)) => {
                let info = vars.and_then(|v| v.get(name.as_str())).map(|i| VarInfo {
                    initialised: false,
                    ..*i
                });
                let field_code = select(code, name);
                let (base, guards) = field(&field_code, code, name, info.as_ref());
                steps(base.with_guards(guards), more)
            }
            Some(_) => Err(unsupported("every child of a task's output")),
        },
        Object::List { code, item } => {
            let list = || Cel::new(code.clone(), PRIMARY, Ty::List);
            match rest {
                [] | [Step::Wildcard] => Ok(list()),
                [Step::Name(n)] if item.as_deref().is_none_or(|i| i == n) => Ok(list()),
                _ => Err(unsupported("paths into the elements of a list")),
            }
        }
    }
}

/// A field of an object, with its guards: presence (`"x" in obj`) unless declared,
/// and non-null unless initialised.
fn field(code: &str, object: &str, name: &str, info: Option<&VarInfo>) -> (Cel, Vec<String>) {
    let mut guards = Vec::new();
    let presence = match info {
        Some(_) if object == "data" => None,
        _ => Some(format!("{} in {object}", quote(name))),
    };
    guards.extend(presence.clone());
    if !info.is_some_and(|i| i.initialised) {
        guards.push(format!("{code} != null"));
    }
    let data_type = info.map_or(DataType::Any, |i| i.data_type);
    let prec = PRIMARY;
    (Cel::new(code, prec, node(data_type, presence)), guards)
}

/// Applies the steps after a variable: child names select fields, and a final `*` or
/// `text()` keeps the value (the children of a list are its elements; the text of a
/// simple value is the value).
fn steps(mut cel: Cel, steps: &[Step]) -> Result<Cel, XPathError> {
    for (i, step) in steps.iter().enumerate() {
        let last = i + 1 == steps.len();
        match step {
            Step::Name(name) => {
                cel.code = select(&cel.at(PRIMARY), name);
                cel.prec = PRIMARY;
                let presence = match &cel.ty {
                    Ty::Node { presence, .. } => presence.clone(),
                    _ => None,
                };
                cel.ty = node(DataType::Any, presence);
            }
            Step::Wildcard if last => cel.ty = Ty::List,
            Step::Text if last => {
                if let Ty::Node { text, .. } = &mut cel.ty {
                    *text = true;
                }
            }
            Step::Wildcard | Step::Text => {
                return Err(unsupported(
                    "`*` or `text()` before the last step of a path",
                ));
            }
        }
    }
    Ok(cel)
}

/// The effective boolean value of an expression (XPath's `boolean()`).
fn ebv(expr: &Expr, scope: &Scope<'_>) -> Result<Cel, XPathError> {
    let cel = value(expr, scope)?;
    truth(cel)
}

fn truth(cel: Cel) -> Result<Cel, XPathError> {
    let test = |cel: &Cel, test: &str, level: u8| {
        Cel::new(format!("{} {test}", cel.at(level)), RELATION, Ty::Bool)
            .with_guards(cel.guards.clone())
            .guarded()
    };
    Ok(match &cel.ty {
        Ty::Bool => cel.guarded(),
        Ty::Int | Ty::Double => test(&cel, "!= 0", ADD),
        Ty::Str => test(&cel, "!= \"\"", ADD),
        Ty::Null => Cel::new("false", PRIMARY, Ty::Bool),
        Ty::List => Cel::new(format!("size({}) > 0", cel.code), RELATION, Ty::Bool)
            .with_guards(cel.guards.clone())
            .guarded(),
        Ty::Node {
            text: false,
            presence,
            ..
        } => match presence {
            // A node is true when it exists.
            Some(p) => Cel::new(p.clone(), RELATION, Ty::Bool),
            None => Cel::new("true", PRIMARY, Ty::Bool),
        },
        Ty::Node { text: true, .. } => test(&cel, "!= \"\"", ADD),
        Ty::Any => return Err(unsupported("the truth value of a computed value")),
    })
}

/// An expression as a number (XPath's `number()`), keeping integers integral.
fn number(expr: &Expr, scope: &Scope<'_>) -> Result<Cel, XPathError> {
    let cel = value(expr, scope)?;
    numeric(cel)
}

fn numeric(cel: Cel) -> Result<Cel, XPathError> {
    let convert = |cel: &Cel| {
        Cel::new(format!("double({})", cel.code), PRIMARY, Ty::Double)
            .with_guards(cel.guards.clone())
    };
    Ok(match &cel.ty {
        Ty::Int | Ty::Double => cel,
        Ty::Node { data_type, .. } => match data_type {
            DataType::Integer => {
                let guards = cel.guards.clone();
                Cel::new(cel.code, cel.prec, Ty::Int).with_guards(guards)
            }
            DataType::Number => {
                let guards = cel.guards.clone();
                Cel::new(cel.code, cel.prec, Ty::Double).with_guards(guards)
            }
            DataType::Boolean => {
                Cel::new(format!("{} ? 1.0 : 0.0", cel.at(OR)), TERNARY, Ty::Double)
                    .with_guards(cel.guards.clone())
            }
            _ => convert(&cel),
        },
        Ty::Str => match cel.literal.as_deref().map(str::trim) {
            Some(text) if text.parse::<f64>().is_ok_and(f64::is_finite) => {
                if text.parse::<i64>().is_ok() {
                    Cel::new(text.trim_start_matches('+'), PRIMARY, Ty::Int)
                } else {
                    Cel::new(decimal(text.trim_start_matches('+')), PRIMARY, Ty::Double)
                }
            }
            Some(_) => return Err(unsupported("a string literal that is not a number")),
            None => convert(&cel),
        },
        Ty::Bool => Cel::new(format!("{} ? 1.0 : 0.0", cel.at(OR)), TERNARY, Ty::Double)
            .with_guards(cel.guards.clone()),
        Ty::Any => convert(&cel),
        Ty::Null | Ty::List => return Err(unsupported("a sequence where a number is needed")),
    })
}

/// A number as a CEL double.
fn to_double(cel: Cel) -> Cel {
    match cel.ty {
        Ty::Int if cel.code.chars().all(|c| c.is_ascii_digit()) => {
            let guards = cel.guards.clone();
            Cel::new(format!("{}.0", cel.code), PRIMARY, Ty::Double).with_guards(guards)
        }
        Ty::Int => Cel::new(format!("double({})", cel.code), PRIMARY, Ty::Double)
            .with_guards(cel.guards.clone()),
        _ => cel,
    }
}

/// An expression as a string (XPath's `string()`).
fn string(expr: &Expr, scope: &Scope<'_>) -> Result<Cel, XPathError> {
    let cel = value(expr, scope)?;
    textual(cel)
}

fn textual(cel: Cel) -> Result<Cel, XPathError> {
    Ok(match &cel.ty {
        Ty::Str
        | Ty::Node {
            data_type: DataType::String,
            ..
        } => {
            let guards = cel.guards.clone();
            let literal = cel.literal.clone();
            let mut out = Cel::new(cel.code, cel.prec, Ty::Str).with_guards(guards);
            out.literal = literal;
            out
        }
        Ty::Null => Cel::new("\"\"", PRIMARY, Ty::Str),
        Ty::List => return Err(unsupported("a sequence where a string is needed")),
        _ => Cel::new(format!("string({})", cel.code), PRIMARY, Ty::Str)
            .with_guards(cel.guards.clone()),
    })
}

fn is_numeric(ty: &Ty) -> bool {
    matches!(
        ty,
        Ty::Int
            | Ty::Double
            | Ty::Node {
                data_type: DataType::Integer | DataType::Number,
                ..
            }
    )
}

fn is_node(ty: &Ty) -> bool {
    matches!(ty, Ty::Node { .. } | Ty::Any)
}

/// A general or value comparison.
fn compare(op: CmpOp, left: &Expr, right: &Expr, scope: &Scope<'_>) -> Result<Cel, XPathError> {
    let (l, r) = (value(left, scope)?, value(right, scope)?);
    if l.ty == Ty::Null || r.ty == Ty::Null {
        // A comparison with the empty sequence is false.
        return Ok(Cel::new("false", PRIMARY, Ty::Bool));
    }
    if let Some(cel) = boolean_node_literal(op, &l, &r)? {
        return Ok(cel);
    }
    let (l, r) = if l.ty == Ty::Bool || r.ty == Ty::Bool {
        if !matches!(op, CmpOp::Eq | CmpOp::Ne) {
            return Err(unsupported("ordering comparisons of booleans"));
        }
        (truth(l)?, truth(r)?)
    } else if matches!(l.ty, Ty::Int | Ty::Double) || matches!(r.ty, Ty::Int | Ty::Double) {
        (numeric(l)?, numeric(r)?)
    } else if l.ty == Ty::Str || r.ty == Ty::Str {
        (textual(l)?, textual(r)?)
    } else if is_numeric(&l.ty) && (is_numeric(&r.ty) || is_node(&r.ty))
        || is_numeric(&r.ty) && is_node(&l.ty)
    {
        (numeric(l)?, numeric(r)?)
    } else if matches!(op, CmpOp::Eq | CmpOp::Ne) {
        (textual(l)?, textual(r)?)
    } else {
        (numeric(l)?, numeric(r)?)
    };
    let code = format!("{} {} {}", l.at(ADD), op.cel(), r.at(ADD));
    let guards = merge(&l.guards, &r.guards);
    Ok(Cel::new(code, RELATION, Ty::Bool)
        .with_guards(guards)
        .guarded())
}

/// `/data/flag = 'true'` on a boolean variable compares booleans: the string form of
/// a JSON boolean is exactly `true` or `false`.
fn boolean_node_literal(op: CmpOp, l: &Cel, r: &Cel) -> Result<Option<Cel>, XPathError> {
    let (node, literal) = match (&l.ty, &r.ty) {
        (
            Ty::Node {
                data_type: DataType::Boolean,
                ..
            },
            Ty::Str,
        ) => (l, r),
        (
            Ty::Str,
            Ty::Node {
                data_type: DataType::Boolean,
                ..
            },
        ) => (r, l),
        _ => return Ok(None),
    };
    let value = match literal.literal.as_deref() {
        Some("true") => "true",
        Some("false") => "false",
        _ => return Ok(None),
    };
    if !matches!(op, CmpOp::Eq | CmpOp::Ne) {
        return Err(unsupported("ordering comparisons of booleans"));
    }
    let code = format!("{} {} {value}", node.at(ADD), op.cel());
    Ok(Some(
        Cel::new(code, RELATION, Ty::Bool)
            .with_guards(node.guards.clone())
            .guarded(),
    ))
}

fn arith(op: ArithOp, left: &Expr, right: &Expr, scope: &Scope<'_>) -> Result<Cel, XPathError> {
    let (l, r) = (number(left, scope)?, number(right, scope)?);
    let guards = merge(&l.guards, &r.guards);
    let ints = l.ty == Ty::Int && r.ty == Ty::Int;
    let (symbol, level) = match op {
        ArithOp::Add => ("+", ADD),
        ArithOp::Sub => ("-", ADD),
        _ => ("*", MUL),
    };
    let cel = match op {
        ArithOp::Add | ArithOp::Sub | ArithOp::Mul if ints => Cel::new(
            format!("{} {symbol} {}", l.at(level), r.at(level + 1)),
            level,
            Ty::Int,
        ),
        ArithOp::Add | ArithOp::Sub | ArithOp::Mul => {
            let (l, r) = (to_double(l), to_double(r));
            Cel::new(
                format!("{} {symbol} {}", l.at(level), r.at(level + 1)),
                level,
                Ty::Double,
            )
        }
        ArithOp::Div => {
            let (l, r) = (to_double(l), to_double(r));
            Cel::new(
                format!("{} / {}", l.at(MUL), r.at(MUL + 1)),
                MUL,
                Ty::Double,
            )
        }
        ArithOp::IDiv if ints => {
            Cel::new(format!("{} / {}", l.at(MUL), r.at(MUL + 1)), MUL, Ty::Int)
        }
        ArithOp::IDiv => {
            let (l, r) = (to_double(l), to_double(r));
            Cel::new(
                format!("int({} / {})", l.at(MUL), r.at(MUL + 1)),
                PRIMARY,
                Ty::Int,
            )
        }
        ArithOp::Mod if ints => {
            Cel::new(format!("{} % {}", l.at(MUL), r.at(MUL + 1)), MUL, Ty::Int)
        }
        ArithOp::Mod => return Err(unsupported("`mod` on non-integers")),
    };
    Ok(cel.with_guards(guards))
}

fn arity(name: &str, args: &[Expr], count: usize) -> Result<(), XPathError> {
    if args.len() == count {
        Ok(())
    } else {
        Err(unsupported(format!(
            "`{name}()` with {} arguments",
            args.len()
        )))
    }
}

fn call(name: &str, args: &[Expr], scope: &Scope<'_>) -> Result<Cel, XPathError> {
    match name {
        "true" | "false" => {
            arity(name, args, 0)?;
            Ok(Cel::new(name, PRIMARY, Ty::Bool))
        }
        "not" => {
            arity(name, args, 1)?;
            let inner = ebv(&args[0], scope)?;
            Ok(Cel::new(format!("!{}", inner.at(UNARY)), UNARY, Ty::Bool))
        }
        "boolean" => {
            arity(name, args, 1)?;
            ebv(&args[0], scope)
        }
        "number" => {
            arity(name, args, 1)?;
            number(&args[0], scope)
        }
        "string" => {
            arity(name, args, 1)?;
            string(&args[0], scope)
        }
        "count" => {
            arity(name, args, 1)?;
            count(&args[0], scope)
        }
        "exists" | "empty" => {
            arity(name, args, 1)?;
            let count = count(&args[0], scope)?;
            let test = if name == "exists" { "> 0" } else { "== 0" };
            Ok(Cel::new(
                format!("{} {test}", count.at(ADD)),
                RELATION,
                Ty::Bool,
            ))
        }
        "contains" | "starts-with" | "ends-with" => {
            arity(name, args, 2)?;
            let (haystack, needle) = (string(&args[0], scope)?, string(&args[1], scope)?);
            let method = match name {
                "contains" => "contains",
                "starts-with" => "startsWith",
                _ => "endsWith",
            };
            let guards = merge(&haystack.guards, &needle.guards);
            let code = format!("{}.{method}({})", haystack.at(PRIMARY), needle.code);
            Ok(Cel::new(code, PRIMARY, Ty::Bool)
                .with_guards(guards)
                .guarded())
        }
        "string-length" => {
            arity(name, args, 1)?;
            let text = string(&args[0], scope)?;
            let guards = text.guards.clone();
            Ok(Cel::new(format!("size({})", text.code), PRIMARY, Ty::Int).with_guards(guards))
        }
        "concat" => {
            if args.len() < 2 {
                return Err(unsupported("`concat()` with fewer than two arguments"));
            }
            let parts = args
                .iter()
                .map(|a| string(a, scope))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(concatenate(parts))
        }
        _ => Err(unsupported(format!("the function `{name}()`"))),
    }
}

fn concatenate(parts: Vec<Cel>) -> Cel {
    let guards = parts
        .iter()
        .fold(Vec::new(), |acc, p| merge(&acc, &p.guards));
    let code = parts
        .iter()
        .enumerate()
        .map(|(i, p)| p.at(if i == 0 { ADD } else { ADD + 1 }))
        .collect::<Vec<_>>()
        .join(" + ");
    Cel::new(code, ADD, Ty::Str).with_guards(guards)
}

/// `count(path)`: the length of a list, or whether a single element exists.
fn count(expr: &Expr, scope: &Scope<'_>) -> Result<Cel, XPathError> {
    let cel = value(expr, scope)?;
    let guard = cel.guards.join(" && ");
    match &cel.ty {
        Ty::List if cel.guards.is_empty() => {
            Ok(Cel::new(format!("size({})", cel.code), PRIMARY, Ty::Int))
        }
        Ty::List => Ok(Cel::new(
            format!("{guard} ? size({}) : 0", cel.code),
            TERNARY,
            Ty::Int,
        )),
        Ty::Node { presence, .. } => Ok(match presence {
            Some(p) => Cel::new(format!("{p} ? 1 : 0"), TERNARY, Ty::Int),
            None => Cel::new("1", PRIMARY, Ty::Int),
        }),
        Ty::Null => Ok(Cel::new("0", PRIMARY, Ty::Int)),
        _ => Ok(Cel::new("1", PRIMARY, Ty::Int)),
    }
}

fn for_return(var: &str, source: &Expr, body: &Expr, scope: &Scope<'_>) -> Result<Cel, XPathError> {
    let source = value(source, scope)?;
    if !matches!(source.ty, Ty::List | Ty::Node { .. } | Ty::Any) {
        return Err(unsupported("`for` over something that is not a sequence"));
    }
    let mut cel_var: String = var
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if !is_identifier(&cel_var) {
        cel_var = format!("v_{cel_var}");
    }
    let mut inner = scope.clone();
    inner.bound.push((var.to_owned(), cel_var.clone()));
    let body = value(body, &inner)?;
    if body.code == cel_var {
        return Ok(Cel::new(source.code, source.prec, Ty::List));
    }
    Ok(Cel::new(
        format!("{}.map({cel_var}, {})", source.at(PRIMARY), body.code),
        PRIMARY,
        Ty::List,
    ))
}

/// The name of the element an expression gives, if it gives one named element.
pub(super) fn element_name(expr: &Expr) -> Option<&str> {
    match expr {
        Expr::Element(name, _) => Some(name),
        Expr::Path(path) => match path.steps.last() {
            Some(Step::Name(name)) => Some(name),
            _ => None,
        },
        Expr::If(_, then, els) if **els == Expr::Empty => element_name(then),
        _ => None,
    }
}

/// The value of an element constructor's content.
fn element(content: &[Content], scope: &Scope<'_>) -> Result<Cel, XPathError> {
    match content {
        [] => Ok(Cel::new("null", PRIMARY, Ty::Null)),
        [Content::Text(text)] => {
            let mut cel = Cel::new(quote(text), PRIMARY, Ty::Str);
            cel.literal = Some(text.clone());
            Ok(cel)
        }
        [Content::Enclosed(expr)] => value(expr, scope),
        [Content::Element(nested)] => object(content, scope).or_else(|_| value(nested, scope)),
        _ => object(content, scope).or_else(|e| text_content(content, scope).map_err(|_| e)),
    }
}

/// Content made of named elements becomes a CEL map from their names to their values.
fn object(content: &[Content], scope: &Scope<'_>) -> Result<Cel, XPathError> {
    let mut fields: Vec<(String, String)> = Vec::new();
    for part in content {
        let expr = match part {
            Content::Element(e) | Content::Enclosed(e) => e,
            Content::Text(_) => return Err(unsupported("text mixed with elements")),
        };
        let name = element_name(expr)
            .ok_or_else(|| unsupported("content that is not a list of named elements"))?;
        if fields.iter().any(|(n, _)| n == name) {
            return Err(unsupported(format!(
                "the element `{name}` repeated in content"
            )));
        }
        let field = value(expr, scope)?;
        fields.push((name.to_owned(), field.at(TERNARY)));
    }
    let body = fields
        .iter()
        .map(|(n, v)| format!("{}: {v}", quote(n)))
        .collect::<Vec<_>>()
        .join(", ");
    Ok(Cel::new(format!("{{{body}}}"), PRIMARY, Ty::Any))
}

/// Text with enclosed expressions becomes a string concatenation.
fn text_content(content: &[Content], scope: &Scope<'_>) -> Result<Cel, XPathError> {
    let parts = content
        .iter()
        .map(|part| match part {
            Content::Text(text) => Ok(Cel::new(quote(text), PRIMARY, Ty::Str)),
            Content::Enclosed(e) => string(e, scope),
            Content::Element(_) => Err(unsupported("elements mixed with text")),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(concatenate(parts))
}

/// A boolean condition (a flow predicate).
pub(super) fn condition(expr: &Expr, scope: &Scope<'_>) -> Result<String, XPathError> {
    Ok(ebv(expr, scope)?.code)
}

/// A value (a mapping, a split source).
pub(super) fn plain(expr: &Expr, scope: &Scope<'_>) -> Result<String, XPathError> {
    Ok(value(expr, scope)?.code)
}
