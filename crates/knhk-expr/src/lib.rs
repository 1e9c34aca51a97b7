//! CEL expressions.
