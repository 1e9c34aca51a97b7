//! JSON format.
