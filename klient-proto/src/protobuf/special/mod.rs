//! The types whose protobuf encoding upstream writes by hand rather than generates: times,
//! quantities, int-or-string, embedded JSON and the JSON-schema unions of custom resource
//! definitions. Each mirrors the Go type's own `Marshal`/`Unmarshal`, so that values round-trip
//! byte for byte with the API server.

mod int_or_string;
mod json_schema_union;
mod quantity;
mod raw_json;
mod time;
