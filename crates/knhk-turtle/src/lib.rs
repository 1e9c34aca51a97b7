//! Turtle import and export of knhk specifications, in the YAWL ontology namespace
//! `http://bitflow.ai/ontology/yawl/v2#`, with knhk's own terms in
//! `http://knhk.dev/ontology#` where YAWL has none.
//!
//! This crate owns the RDF side: parsing Turtle (with `oxttl`), finding the
//! specification, its nets, conditions, tasks and flows in the graph whichever of the
//! spellings in use they are written in, deriving model ids from IRIs, and writing a
//! specification back. It leaves structural rules to [`knhk_model::validate`] (an
//! import returns an unvalidated [`Specification`], since a document may describe a net
//! that breaks them) and expressions to `knhk-expr`: predicates such as
//! `balance >= withdrawalAmount` are already CEL and are kept as written.
//!
//! Data flow: [`import`] parses the text into triples in document order, takes the one
//! resource typed `yawl:Specification`, reads its nets and their elements, then flows,
//! then cancellation sets, and returns an [`Import`]: the specification, the
//! [`ImportWarning`]s (properties knhk has no place for, elements with no flows, ...),
//! and the [`Iris`] each id came from. [`export`] writes a specification as Turtle.
//!
//! Design decisions a reader must know (`docs/turtle-format.md` has the vocabulary):
//! - **Ids.** A resource with `knhk:id` has that id. Otherwise its id is derived from its
//!   IRI: the local name after the last `#`, `/` or `:`, extended by more segments when
//!   two resources of one namespace share it (`crate::ids`). The full IRI stays
//!   recoverable through [`Import::iris`], and, for documents not written by knhk, in
//!   each condition's and task's name: `"Verify Card <http://…/verify_card>"`, so that
//!   anything reporting on the model (the verifier's "not on a path from input to
//!   output") names the IRI the author wrote.
//! - **Order.** RDF is unordered, but the model's lists are not (a flow's position
//!   decides when an XOR-split predicate without ordering is tried). Every list is read in
//!   document order, which is how [`export`] writes it.
//! - **Round trip.** `import(&export(&spec), None)` gives `spec` back, field for field, for
//!   every valid specification; the tests check it on generated specifications and on
//!   every example.
//!
//! ```
//! let text = r#"
//!     @prefix yawl: <http://bitflow.ai/ontology/yawl/v2#> .
//!     @base <http://example.org/wf/> .
//!     <hello> a yawl:Specification ;
//!         yawl:specName "Hello" ;
//!         yawl:hasInputCondition <start> ;
//!         yawl:hasOutputCondition <end> ;
//!         yawl:hasTask <greet> .
//!     <greet> a yawl:AtomicTask ;
//!         yawl:taskName "Greet" ;
//!         yawl:hasIncomingFlow <start> ;
//!         yawl:hasOutgoingFlow <end> .
//! "#;
//! let import = knhk_turtle::import(text, None)?;
//! let net = &import.spec.nets[0];
//! assert_eq!(net.tasks[0].id, "greet");
//! assert_eq!(net.tasks[0].name.as_deref(), Some("Greet <http://example.org/wf/greet>"));
//! assert_eq!(net.flows.len(), 2);
//! assert_eq!(import.iris.element("hello", "greet"), Some("http://example.org/wf/greet"));
//!
//! // Written back and read again, the specification is the same.
//! let again = knhk_turtle::import(&knhk_turtle::export(&import.spec), None)?;
//! assert_eq!(again.spec, import.spec);
//! # Ok::<(), knhk_turtle::TurtleError>(())
//! ```

mod error;
mod export;
mod graph;
mod ids;
mod import;
mod values;
mod vocab;

pub use error::{ImportWarning, TurtleError};
pub use import::{Import, Iris};
pub use vocab::{KNHK, YAWL};

use knhk_model::Specification;

/// Reads a specification from Turtle text. Relative IRIs are resolved against `base`
/// (a document's own `@base` takes over from where it appears); without either, they
/// are an error.
///
/// Malformed Turtle gives [`TurtleError::Syntax`] with the line and column. A graph that
/// does not describe one specification, or describes it with values of the wrong kind,
/// gives [`TurtleError::At`] naming the subject's IRI and the property (or
/// [`TurtleError::NoSpecification`], [`TurtleError::SeveralSpecifications`]). What the
/// model has no place for is dropped with a warning in [`Import::warnings`].
pub fn import(text: &str, base: Option<&str>) -> Result<Import, TurtleError> {
    import::import(text, base)
}

/// Writes a specification as Turtle, such that [`import`] gives it back unchanged.
/// Deterministic: the same specification always gives the same text.
pub fn export(spec: &Specification) -> String {
    export::export(spec)
}
