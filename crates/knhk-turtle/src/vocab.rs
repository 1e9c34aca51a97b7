//! The terms this crate reads and writes: the YAWL ontology namespace, knhk's own
//! namespace for what YAWL lacks, and the few RDF, RDFS and XSD terms used.
//!
//! `docs/turtle-format.md` is the reference for what each term means. Terms are full IRI
//! strings, so that comparing a parsed predicate with one is a string comparison.

/// The YAWL ontology namespace used by the Turtle examples.
pub const YAWL: &str = "http://bitflow.ai/ontology/yawl/v2#";
/// knhk's own namespace, for constructs the YAWL ontology has no term for.
pub const KNHK: &str = "http://knhk.dev/ontology#";
/// RDF.
pub(crate) const RDF: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#";
/// RDF Schema.
pub(crate) const RDFS: &str = "http://www.w3.org/2000/01/rdf-schema#";
/// XML Schema datatypes.
pub(crate) const XSD: &str = "http://www.w3.org/2001/XMLSchema#";

/// Defines `pub(crate) const NAME: &str = "<namespace>local";` for each term, and, for
/// the tests, `GROUP` listing the group's terms.
macro_rules! terms {
    ($group:ident: $ns:literal; $($name:ident = $local:literal),* $(,)?) => {
        $(pub(crate) const $name: &str = concat!($ns, $local);)*
        #[cfg(test)]
        pub(crate) const $group: &[&str] = &[$($name),*];
    };
}

// The YAWL ontology (http://bitflow.ai/ontology/yawl/v2#). The first group is what the
// four knhk examples use; the second is named after YAWL's own XML schema.
terms! { YAWL_EXAMPLES: "http://bitflow.ai/ontology/yawl/v2#";
    SPECIFICATION = "Specification",
    WORKFLOW_SPECIFICATION = "WorkflowSpecification",
    SPEC_NAME = "specName",
    VERSION = "version",
    HAS_INPUT_CONDITION = "hasInputCondition",
    HAS_OUTPUT_CONDITION = "hasOutputCondition",
    HAS_START_CONDITION = "hasStartCondition",
    HAS_END_CONDITION = "hasEndCondition",
    HAS_TASK = "hasTask",
    HAS_CONDITION = "hasCondition",
    HAS_FLOW = "hasFlow",
    INPUT_CONDITION = "InputCondition",
    OUTPUT_CONDITION = "OutputCondition",
    CONDITION = "Condition",
    CONDITION_NAME = "conditionName",
    TASK = "Task",
    ATOMIC_TASK = "AtomicTask",
    COMPOSITE_TASK = "CompositeTask",
    MULTIPLE_INSTANCE_TASK = "MultipleInstanceTask",
    TASK_NAME = "taskName",
    JOIN = "join",
    SPLIT = "split",
    HAS_JOIN = "hasJoin",
    HAS_SPLIT = "hasSplit",
    HAS_JOIN_TYPE = "hasJoinType",
    HAS_SPLIT_TYPE = "hasSplitType",
    CONTROL_TYPE_AND = "ControlTypeAnd",
    CONTROL_TYPE_XOR = "ControlTypeXor",
    CONTROL_TYPE_OR = "ControlTypeOr",
    HAS_INPUT_PARAMETER = "hasInputParameter",
    HAS_OUTPUT_PARAMETER = "hasOutputParameter",
    PARAM_NAME = "paramName",
    PARAM_TYPE = "paramType",
    CANCELLATION_REGION = "cancellationRegion",
    CANCELS = "cancels",
    FLOW = "Flow",
    FLOWS_FROM = "flowsFrom",
    FLOWS_INTO = "flowsInto",
    PREDICATE = "predicate",
    HAS_OUTGOING_FLOW = "hasOutgoingFlow",
    HAS_INCOMING_FLOW = "hasIncomingFlow",
    MIN_INSTANCES = "minInstances",
    MAX_INSTANCES = "maxInstances",
    THRESHOLD = "threshold",
    CREATION_MODE = "creationMode",
    MULTIPLE_INSTANCE_TYPE = "multipleInstanceType",
    TIMEOUT = "timeout",
}

terms! { YAWL_SCHEMA: "http://bitflow.ai/ontology/yawl/v2#";
    NET = "Net",
    HAS_DECOMPOSITION = "hasDecomposition",
    HAS_NET = "hasNet",
    IS_ROOT_NET = "isRootNet",
    HAS_ROOT_NET = "hasRootNet",
    DOCUMENTATION = "documentation",
    DECOMPOSES_TO = "decomposesTo",
    NEXT_ELEMENT_REF = "nextElementRef",
    HAS_PREDICATE = "hasPredicate",
    QUERY = "query",
    ORDERING = "ordering",
    IS_DEFAULT_FLOW = "isDefaultFlow",
    REMOVES_TOKENS = "removesTokens",
    REMOVES_TOKENS_FROM_FLOW = "removesTokensFromFlow",
    HAS_LOCAL_VARIABLE = "hasLocalVariable",
    HAS_VARIABLE = "hasVariable",
    VAR_NAME = "varName",
    VAR_TYPE = "varType",
    INITIAL_VALUE = "initialValue",
    HAS_STARTING_MAPPING = "hasStartingMapping",
    HAS_COMPLETED_MAPPING = "hasCompletedMapping",
    MAPS_TO = "mapsTo",
    EXPRESSION = "expression",
    SPLITTING_EXPRESSION = "splittingExpression",
    NAME = "name",
}

// knhk's own terms (http://knhk.dev/ontology#).
terms! { KNHK_TERMS: "http://knhk.dev/ontology#";
    ID = "id",
    EMPTY_TASK = "EmptyTask",
    SERVICE = "service",
    OPTIONAL = "optional",
    TERMINATION = "termination",
    MI_ITEM = "item",
    MI_COMPLETION = "completionCondition",
    MI_REMAINDER = "remainder",
    MI_AGGREGATE = "aggregate",
    TIMER = "timer",
    TIMER_STARTS = "starts",
    DURATION_MS = "durationMs",
    EXPIRY_MS = "expiryMs",
    ON_EXPIRY = "onExpiry",
    PARTIAL_JOIN = "partialJoin",
    REQUIRED = "required",
    MODE = "mode",
    TRIGGER = "trigger",
    SIGNAL = "signal",
    PERSISTENT = "persistent",
    THREAD_MERGE = "threadMerge",
    THREAD_SPLIT = "threadSplit",
    MAPPINGS_ONLY = "mappingsOnly",
}

terms! { RDF_TERMS: "http://www.w3.org/1999/02/22-rdf-syntax-ns#";
    RDF_TYPE = "type",
    RDF_JSON = "JSON",
    RDF_VALUE = "value",
}

terms! { RDFS_TERMS: "http://www.w3.org/2000/01/rdf-schema#";
    RDFS_LABEL = "label",
    RDFS_COMMENT = "comment",
}

/// The prefixes used to abbreviate IRIs in messages and in written Turtle.
pub(crate) const PREFIXES: [(&str, &str); 5] = [
    ("yawl", YAWL),
    ("knhk", KNHK),
    ("rdf", RDF),
    ("rdfs", RDFS),
    ("xsd", XSD),
];

/// Writes `iri` as `prefix:local` when it is in a known namespace and the local part is
/// a plain name, else as `<iri>`: how messages name properties.
pub(crate) fn abbreviate(iri: &str) -> String {
    for (prefix, namespace) in PREFIXES {
        if let Some(local) = iri.strip_prefix(namespace)
            && !local.is_empty()
            && local.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return format!("{prefix}:{local}");
        }
    }
    format!("<{iri}>")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `docs/turtle-format.md` names every term this crate reads or writes.
    #[test]
    fn the_format_document_names_every_term() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/turtle-format.md");
        let doc = std::fs::read_to_string(path).unwrap();
        let terms = [
            YAWL_EXAMPLES,
            YAWL_SCHEMA,
            KNHK_TERMS,
            RDF_TERMS,
            RDFS_TERMS,
        ]
        .concat();
        let missing: Vec<String> = terms
            .iter()
            .map(|term| abbreviate(term))
            .filter(|name| !name.starts_with("rdf:type") && !doc.contains(name.as_str()))
            .collect();
        assert!(
            missing.is_empty(),
            "not in docs/turtle-format.md: {missing:?}"
        );
    }

    #[test]
    fn abbreviates_known_namespaces_only() {
        assert_eq!(abbreviate(FLOWS_INTO), "yawl:flowsInto");
        assert_eq!(abbreviate(THREAD_MERGE), "knhk:threadMerge");
        assert_eq!(abbreviate("http://example.org/p"), "<http://example.org/p>");
        assert_eq!(abbreviate(YAWL), format!("<{YAWL}>"));
    }
}
