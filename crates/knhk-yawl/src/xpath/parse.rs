//! A recursive-descent parser for the XPath 2.0 / XQuery subset YAWL specifications
//! use: paths, literals, operators, function calls, `if`, `for ... return` and direct
//! element constructors with enclosed expressions.
//!
//! The parser reads characters, not tokens, because XPath's lexical rules depend on
//! position: `*` is a wildcard where an operand is expected and a multiplication after
//! one, `<` starts an element constructor or compares, and `a-b` is one name. Anything
//! outside the subset (axes other than `child`, predicates in brackets, attributes)
//! is refused here with [`XPathError::Unsupported`], so that the translator only ever
//! sees constructs it understands.

use super::XPathError;

/// An XPath/XQuery expression.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expr {
    /// An integer literal, as written.
    Int(String),
    /// A decimal or double literal, as written.
    Dec(String),
    /// A string literal, unescaped.
    Str(String),
    /// `()`.
    Empty,
    /// A path: from the root, a variable, a parenthesised expression or the context.
    Path(Path),
    /// A function call (namespace prefix `fn:` removed).
    Call(String, Vec<Expr>),
    /// Unary minus.
    Neg(Box<Expr>),
    /// `+ - * div idiv mod`.
    Arith(ArithOp, Box<Expr>, Box<Expr>),
    /// A general (`=`) or value (`eq`) comparison.
    Cmp(CmpOp, Box<Expr>, Box<Expr>),
    /// `and`.
    And(Box<Expr>, Box<Expr>),
    /// `or`.
    Or(Box<Expr>, Box<Expr>),
    /// `if (c) then t else e`.
    If(Box<Expr>, Box<Expr>, Box<Expr>),
    /// `for $var in source return body`.
    For(String, Box<Expr>, Box<Expr>),
    /// A direct element constructor `<name>content</name>`.
    Element(String, Vec<Content>),
    /// `a, b`: a sequence of several expressions.
    Sequence(Vec<Expr>),
}

/// Where a path starts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Start {
    /// `/`: the document root.
    Root,
    /// `$name`.
    Var(String),
    /// A relative path from the context item.
    Context,
}

/// A path expression.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Path {
    /// Where it starts.
    pub(crate) start: Start,
    /// Its steps, in order.
    pub(crate) steps: Vec<Step>,
}

/// One step of a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    /// A child element by name (prefix removed).
    Name(String),
    /// `*`: every child element.
    Wildcard,
    /// `text()`.
    Text,
}

/// One part of an element constructor's content.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Content {
    /// Literal text (entity references decoded).
    Text(String),
    /// `{ expression }`.
    Enclosed(Expr),
    /// A nested element constructor.
    Element(Expr),
}

/// Arithmetic operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ArithOp {
    Add,
    Sub,
    Mul,
    Div,
    IDiv,
    Mod,
}

/// Comparison operators (general and value comparisons map to the same six).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    /// The CEL operator.
    pub(crate) fn cel(self) -> &'static str {
        match self {
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }
}

/// Deepest nesting the parser builds before refusing, counting each operator of a
/// chain (`a + b + c` nests two deep) as well as brackets: a bound on the recursion of
/// parsing, translating and dropping an expression, for hostile input.
const DEPTH_MAX: u32 = 200;

/// Parses `source` as one expression.
pub(crate) fn parse(source: &str) -> Result<Expr, XPathError> {
    let mut parser = Parser {
        chars: source.chars().collect(),
        pos: 0,
        depth: 0,
    };
    let expr = parser.expr()?;
    parser.skip_ws();
    if parser.pos < parser.chars.len() {
        return Err(parser.syntax("end of expression"));
    }
    Ok(expr)
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
    depth: u32,
}

fn is_name_start(c: char) -> bool {
    c.is_alphabetic() || c == '_'
}

fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-' | '.')
}

impl Parser {
    fn syntax(&self, expected: &'static str) -> XPathError {
        XPathError::Syntax {
            offset: self.pos,
            expected,
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn peek_at(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.pos + ahead).copied()
    }

    fn starts_with(&self, text: &str) -> bool {
        text.chars()
            .enumerate()
            .all(|(i, c)| self.peek_at(i) == Some(c))
    }

    /// Skips whitespace and `(: comments :)`.
    fn skip_ws(&mut self) {
        loop {
            while self.peek().is_some_and(char::is_whitespace) {
                self.pos += 1;
            }
            if !self.starts_with("(:") {
                return;
            }
            match (self.pos + 2..self.chars.len().saturating_sub(1))
                .find(|&i| self.chars[i] == ':' && self.chars[i + 1] == ')')
            {
                Some(end) => self.pos = end + 2,
                None => {
                    self.pos = self.chars.len();
                    return;
                }
            }
        }
    }

    /// Consumes `text` (after whitespace) if it comes next.
    fn eat(&mut self, text: &str) -> bool {
        self.skip_ws();
        if self.starts_with(text) {
            self.pos += text.chars().count();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, text: &'static str) -> Result<(), XPathError> {
        if self.eat(text) {
            Ok(())
        } else {
            Err(self.syntax(text))
        }
    }

    /// Consumes the keyword `word` if it comes next as a whole name.
    fn eat_keyword(&mut self, word: &str) -> bool {
        self.skip_ws();
        let len = word.chars().count();
        if self.starts_with(word) && !self.peek_at(len).is_some_and(is_name_char) {
            self.pos += len;
            true
        } else {
            false
        }
    }

    /// A name, possibly prefixed (`xs:string`); returns the local part.
    fn name(&mut self) -> Result<String, XPathError> {
        let local = self.ncname()?;
        if self.peek() == Some(':')
            && self.peek_at(1).is_some_and(is_name_start)
            && self.peek_at(1) != Some(':')
        {
            self.pos += 1;
            return self.ncname();
        }
        Ok(local)
    }

    fn ncname(&mut self) -> Result<String, XPathError> {
        if !self.peek().is_some_and(is_name_start) {
            return Err(self.syntax("a name"));
        }
        let start = self.pos;
        while self.peek().is_some_and(is_name_char) {
            self.pos += 1;
        }
        Ok(self.chars[start..self.pos].iter().collect())
    }

    fn enter(&mut self) -> Result<(), XPathError> {
        self.depth += 1;
        if self.depth > DEPTH_MAX {
            return Err(XPathError::Unsupported {
                construct: "expressions nested this deeply".to_owned(),
            });
        }
        Ok(())
    }

    /// `ExprSingle ("," ExprSingle)*`.
    fn expr(&mut self) -> Result<Expr, XPathError> {
        self.enter()?;
        let first = self.expr_single()?;
        let mut items = vec![first];
        while self.eat(",") {
            items.push(self.expr_single()?);
        }
        self.depth -= 1;
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Expr::Sequence(items)
        })
    }

    fn expr_single(&mut self) -> Result<Expr, XPathError> {
        self.enter()?;
        let expr = self.expr_single_inner();
        self.depth -= 1;
        expr
    }

    fn expr_single_inner(&mut self) -> Result<Expr, XPathError> {
        self.skip_ws();
        let save = self.pos;
        if self.eat_keyword("for") {
            if self.eat("$") {
                let var = self.name()?;
                if !self.eat_keyword("in") {
                    return Err(self.syntax("`in`"));
                }
                let source = self.expr_single()?;
                if !self.eat_keyword("return") {
                    return Err(self.syntax("`return`"));
                }
                let body = self.expr_single()?;
                return Ok(Expr::For(var, Box::new(source), Box::new(body)));
            }
            self.pos = save;
        }
        if self.eat_keyword("if") {
            if self.eat("(") {
                let cond = self.expr()?;
                self.expect(")")?;
                if !self.eat_keyword("then") {
                    return Err(self.syntax("`then`"));
                }
                let then = self.expr_single()?;
                if !self.eat_keyword("else") {
                    return Err(self.syntax("`else`"));
                }
                let els = self.expr_single()?;
                return Ok(Expr::If(Box::new(cond), Box::new(then), Box::new(els)));
            }
            self.pos = save;
        }
        for keyword in ["some", "every", "let"] {
            if self.eat_keyword(keyword) && self.eat("$") {
                return Err(XPathError::Unsupported {
                    construct: format!("`{keyword}` expressions"),
                });
            }
            self.pos = save;
        }
        self.or()
    }

    fn or(&mut self) -> Result<Expr, XPathError> {
        let base = self.depth;
        let mut left = self.and()?;
        while self.eat_keyword("or") {
            self.enter()?;
            let right = self.and()?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        self.depth = base;
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, XPathError> {
        let base = self.depth;
        let mut left = self.comparison()?;
        while self.eat_keyword("and") {
            self.enter()?;
            let right = self.comparison()?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        self.depth = base;
        Ok(left)
    }

    fn comparison(&mut self) -> Result<Expr, XPathError> {
        let left = self.additive()?;
        self.skip_ws();
        let op = if self.eat("!=") {
            CmpOp::Ne
        } else if self.eat("<=") {
            CmpOp::Le
        } else if self.eat(">=") {
            CmpOp::Ge
        } else if self.eat("=") {
            CmpOp::Eq
        } else if self.starts_with("<<") || self.starts_with(">>") {
            return Err(XPathError::Unsupported {
                construct: "node order comparisons".to_owned(),
            });
        } else if self.eat("<") {
            CmpOp::Lt
        } else if self.eat(">") {
            CmpOp::Gt
        } else if let Some(op) = self.value_comparison() {
            op
        } else if self.eat_keyword("is") {
            return Err(XPathError::Unsupported {
                construct: "node identity comparisons".to_owned(),
            });
        } else {
            return Ok(left);
        };
        let right = self.additive()?;
        Ok(Expr::Cmp(op, Box::new(left), Box::new(right)))
    }

    fn value_comparison(&mut self) -> Option<CmpOp> {
        [
            ("eq", CmpOp::Eq),
            ("ne", CmpOp::Ne),
            ("lt", CmpOp::Lt),
            ("le", CmpOp::Le),
            ("gt", CmpOp::Gt),
            ("ge", CmpOp::Ge),
        ]
        .into_iter()
        .find(|(word, _)| self.eat_keyword(word))
        .map(|(_, op)| op)
    }

    fn additive(&mut self) -> Result<Expr, XPathError> {
        let base = self.depth;
        let mut left = self.multiplicative()?;
        loop {
            let op = if self.eat("+") {
                ArithOp::Add
            } else if self.eat("-") {
                ArithOp::Sub
            } else {
                self.depth = base;
                return Ok(left);
            };
            self.enter()?;
            let right = self.multiplicative()?;
            left = Expr::Arith(op, Box::new(left), Box::new(right));
        }
    }

    fn multiplicative(&mut self) -> Result<Expr, XPathError> {
        let base = self.depth;
        let mut left = self.unary()?;
        loop {
            let op = if self.eat("*") {
                ArithOp::Mul
            } else if self.eat_keyword("div") {
                ArithOp::Div
            } else if self.eat_keyword("idiv") {
                ArithOp::IDiv
            } else if self.eat_keyword("mod") {
                ArithOp::Mod
            } else {
                self.depth = base;
                return Ok(left);
            };
            self.enter()?;
            let right = self.unary()?;
            left = Expr::Arith(op, Box::new(left), Box::new(right));
        }
    }

    fn unary(&mut self) -> Result<Expr, XPathError> {
        if self.eat("-") {
            self.enter()?;
            let operand = self.unary()?;
            self.depth -= 1;
            return Ok(Expr::Neg(Box::new(operand)));
        }
        if self.eat("+") {
            return self.unary();
        }
        if self.eat("|") {
            return Err(XPathError::Unsupported {
                construct: "union `|`".to_owned(),
            });
        }
        let operand = self.path()?;
        self.skip_ws();
        if self.starts_with("|") {
            return Err(XPathError::Unsupported {
                construct: "union `|`".to_owned(),
            });
        }
        Ok(operand)
    }

    /// A path expression, or a primary expression possibly followed by steps.
    fn path(&mut self) -> Result<Expr, XPathError> {
        self.skip_ws();
        if self.starts_with("//") {
            return Err(XPathError::Unsupported {
                construct: "the descendant axis `//`".to_owned(),
            });
        }
        if self.peek() == Some('/') {
            self.pos += 1;
            let mut path = Path {
                start: Start::Root,
                steps: Vec::new(),
            };
            self.skip_ws();
            if self.at_step_start() {
                path.steps.push(self.step()?);
                self.more_steps(&mut path)?;
            }
            return Ok(Expr::Path(path));
        }
        if self.at_step_start() && !self.at_call() {
            let mut path = Path {
                start: Start::Context,
                steps: vec![self.step()?],
            };
            self.more_steps(&mut path)?;
            return Ok(Expr::Path(path));
        }
        let primary = self.primary()?;
        self.skip_ws();
        if self.peek() == Some('/') {
            let mut path = match primary {
                Expr::Path(path) => path,
                _ => {
                    return Err(XPathError::Unsupported {
                        construct: "paths from a computed expression".to_owned(),
                    });
                }
            };
            self.more_steps(&mut path)?;
            return Ok(Expr::Path(path));
        }
        Ok(primary)
    }

    /// Whether a step (name test, `*`, `@`, `.`) starts here.
    fn at_step_start(&self) -> bool {
        match self.peek() {
            Some('*' | '@') => true,
            Some('.') => !self.peek_at(1).is_some_and(|c| c.is_ascii_digit()),
            Some(c) => is_name_start(c),
            None => false,
        }
    }

    /// Whether a name followed by `(` (a function call or `if (`) starts here, rather
    /// than a name step; `text()` and other kind tests count as steps.
    fn at_call(&self) -> bool {
        let mut i = 0;
        while self.peek_at(i).is_some_and(|c| is_name_char(c) || c == ':') {
            i += 1;
        }
        let name: String = self.chars[self.pos..self.pos + i].iter().collect();
        while self.peek_at(i).is_some_and(char::is_whitespace) {
            i += 1;
        }
        self.peek_at(i) == Some('(')
            && !matches!(
                name.as_str(),
                "text" | "node" | "element" | "attribute" | "comment"
            )
    }

    fn more_steps(&mut self, path: &mut Path) -> Result<(), XPathError> {
        loop {
            self.skip_ws();
            if self.starts_with("//") {
                return Err(XPathError::Unsupported {
                    construct: "the descendant axis `//`".to_owned(),
                });
            }
            if self.peek() != Some('/') {
                break;
            }
            self.pos += 1;
            self.skip_ws();
            path.steps.push(self.step()?);
        }
        self.skip_ws();
        if self.peek() == Some('[') {
            return Err(XPathError::Unsupported {
                construct: "predicates `[...]` in paths".to_owned(),
            });
        }
        Ok(())
    }

    fn step(&mut self) -> Result<Step, XPathError> {
        self.skip_ws();
        match self.peek() {
            Some('*') => {
                self.pos += 1;
                return self.no_predicate(Step::Wildcard);
            }
            Some('@') => {
                return Err(XPathError::Unsupported {
                    construct: "attributes".to_owned(),
                });
            }
            Some('.') => {
                return Err(XPathError::Unsupported {
                    construct: "the context item `.` and parent `..`".to_owned(),
                });
            }
            _ => {}
        }
        let name = self.name()?;
        if self.starts_with("::") {
            if name != "child" {
                return Err(XPathError::Unsupported {
                    construct: format!("the `{name}` axis"),
                });
            }
            self.pos += 2;
            return self.step();
        }
        let save = self.pos;
        if self.eat("(") {
            if name == "text" && self.eat(")") {
                return self.no_predicate(Step::Text);
            }
            self.pos = save;
            return Err(XPathError::Unsupported {
                construct: format!("the node test `{name}()`"),
            });
        }
        self.no_predicate(Step::Name(name))
    }

    fn no_predicate(&mut self, step: Step) -> Result<Step, XPathError> {
        self.skip_ws();
        if self.peek() == Some('[') {
            return Err(XPathError::Unsupported {
                construct: "predicates `[...]` in paths".to_owned(),
            });
        }
        Ok(step)
    }

    fn primary(&mut self) -> Result<Expr, XPathError> {
        self.skip_ws();
        match self.peek() {
            Some('(') => {
                self.pos += 1;
                if self.eat(")") {
                    return Ok(Expr::Empty);
                }
                let inner = self.expr()?;
                self.expect(")")?;
                Ok(inner)
            }
            Some(quote @ ('"' | '\'')) => self.string(quote),
            Some(c) if c.is_ascii_digit() || c == '.' => self.number(),
            Some('$') => {
                self.pos += 1;
                let name = self.name()?;
                Ok(Expr::Path(Path {
                    start: Start::Var(name),
                    steps: Vec::new(),
                }))
            }
            Some('<') if self.peek_at(1).is_some_and(is_name_start) => {
                self.pos += 1;
                self.element()
            }
            Some(c) if is_name_start(c) => {
                let name = self.name()?;
                self.expect("(")?;
                let mut args = Vec::new();
                if !self.eat(")") {
                    loop {
                        self.enter()?;
                        args.push(self.expr_single()?);
                        self.depth -= 1;
                        if self.eat(")") {
                            break;
                        }
                        self.expect(",")?;
                    }
                }
                Ok(Expr::Call(name, args))
            }
            _ => Err(self.syntax("an operand")),
        }
    }

    fn string(&mut self, quote: char) -> Result<Expr, XPathError> {
        self.pos += 1;
        let mut text = String::new();
        loop {
            match self.peek() {
                None => return Err(self.syntax("a closing quote")),
                Some(c) if c == quote => {
                    self.pos += 1;
                    // A doubled quote stands for one quote character.
                    if self.peek() == Some(quote) {
                        self.pos += 1;
                        text.push(quote);
                    } else {
                        return Ok(Expr::Str(text));
                    }
                }
                Some(c) => {
                    self.pos += 1;
                    text.push(c);
                }
            }
        }
    }

    fn number(&mut self) -> Result<Expr, XPathError> {
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        let mut decimal = false;
        if self.peek() == Some('.') {
            decimal = true;
            self.pos += 1;
            while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                self.pos += 1;
            }
        }
        if matches!(self.peek(), Some('e' | 'E')) {
            decimal = true;
            self.pos += 1;
            if matches!(self.peek(), Some('+' | '-')) {
                self.pos += 1;
            }
            if !self.peek().is_some_and(|c| c.is_ascii_digit()) {
                return Err(self.syntax("an exponent"));
            }
            while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                self.pos += 1;
            }
        }
        if self.peek().is_some_and(is_name_start) {
            return Err(self.syntax("an operator after a number"));
        }
        let text: String = self.chars[start..self.pos].iter().collect();
        if text == "." {
            return Err(self.syntax("a digit"));
        }
        Ok(if decimal {
            Expr::Dec(text)
        } else {
            Expr::Int(text)
        })
    }

    /// A direct element constructor, after its `<`.
    fn element(&mut self) -> Result<Expr, XPathError> {
        self.enter()?;
        let name = self.name()?;
        self.skip_ws();
        if self.starts_with("/>") {
            self.pos += 2;
            self.depth -= 1;
            return Ok(Expr::Element(name, Vec::new()));
        }
        if self.peek() != Some('>') {
            if self.peek().is_some_and(is_name_start) {
                return Err(XPathError::Unsupported {
                    construct: "attributes in element constructors".to_owned(),
                });
            }
            return Err(self.syntax("`>`"));
        }
        self.pos += 1;
        let mut content = Vec::new();
        let mut text = String::new();
        loop {
            match self.peek() {
                None => return Err(self.syntax("a closing tag")),
                Some('<') if self.peek_at(1) == Some('/') => {
                    self.pos += 2;
                    let closing = self.name()?;
                    self.skip_ws();
                    if closing != name || self.peek() != Some('>') {
                        return Err(self.syntax("the matching closing tag"));
                    }
                    self.pos += 1;
                    break;
                }
                Some('<') if self.starts_with("<!--") => {
                    match (self.pos..self.chars.len())
                        .find(|&i| self.chars[i..].starts_with(&['-', '-', '>']))
                    {
                        Some(end) => self.pos = end + 3,
                        None => return Err(self.syntax("`-->`")),
                    }
                }
                Some('<') => {
                    flush(&mut text, &mut content);
                    self.pos += 1;
                    let nested = self.element()?;
                    content.push(Content::Element(nested));
                }
                Some('{') if self.peek_at(1) == Some('{') => {
                    self.pos += 2;
                    text.push('{');
                }
                Some('}') if self.peek_at(1) == Some('}') => {
                    self.pos += 2;
                    text.push('}');
                }
                Some('{') => {
                    flush(&mut text, &mut content);
                    self.pos += 1;
                    let inner = self.expr()?;
                    self.expect("}")?;
                    content.push(Content::Enclosed(inner));
                }
                Some('}') => return Err(self.syntax("`}}` for a literal `}`")),
                Some('&') => text.push(self.entity()?),
                Some(c) => {
                    self.pos += 1;
                    text.push(c);
                }
            }
        }
        flush(&mut text, &mut content);
        self.depth -= 1;
        Ok(Expr::Element(name, content))
    }

    /// An entity or character reference in constructor content.
    fn entity(&mut self) -> Result<char, XPathError> {
        let end = (self.pos..self.chars.len().min(self.pos + 12))
            .find(|&i| self.chars[i] == ';')
            .ok_or_else(|| self.syntax("an entity reference"))?;
        let body: String = self.chars[self.pos + 1..end].iter().collect();
        let c = match body.as_str() {
            "lt" => Some('<'),
            "gt" => Some('>'),
            "amp" => Some('&'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => body
                .strip_prefix("#x")
                .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                .or_else(|| body.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        let c = c.ok_or_else(|| self.syntax("a known entity reference"))?;
        self.pos = end + 1;
        Ok(c)
    }
}

/// Ends a run of literal text; whitespace-only runs are boundary whitespace, which
/// XQuery strips by default.
fn flush(text: &mut String, content: &mut Vec<Content>) {
    if !text.trim().is_empty() {
        content.push(Content::Text(std::mem::take(text)));
    }
    text.clear();
}
