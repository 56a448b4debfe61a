//! The JSON tree libxl builds from yajl's events.

/// A parsed JSON value, classified the way libxl classifies yajl's tokens.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    /// An integer that fits `long long`.
    Integer(i64),
    /// A number with a fraction or exponent.
    Double(f64),
    /// A number libxl could not convert (integer beyond `long long`, double beyond range):
    /// kept as its text, and matching no typed field.
    Number(Vec<u8>),
    String(Vec<u8>),
    Array(Vec<Value>),
    /// Keys in document order; duplicates are kept (lookups take the first).
    Map(Vec<(Vec<u8>, Value)>),
}

impl Value {
    /// The value of the first `key` in a map (libxl's `libxl__json_map_get` without a type).
    pub fn get(&self, key: &[u8]) -> Option<&Value> {
        match self {
            Value::Map(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn entries(&self) -> &[(Vec<u8>, Value)] {
        match self {
            Value::Map(entries) => entries,
            _ => &[],
        }
    }
}

impl Value {
    /// An array or map with something in it.
    fn has_children(&self) -> bool {
        match self {
            Value::Array(items) => !items.is_empty(),
            Value::Map(entries) => !entries.is_empty(),
            _ => false,
        }
    }
}

impl Drop for Value {
    /// Dropping deeply nested input recursively would overflow the stack; flatten instead.
    /// Only containers with children wait in `pending`, so dropping a wide array of scalars
    /// allocates nothing.
    fn drop(&mut self) {
        let mut pending: Vec<Value> = Vec::new();
        let take = |v: &mut Value, pending: &mut Vec<Value>| match v {
            Value::Array(items) => pending.extend(items.drain(..).filter(Value::has_children)),
            Value::Map(entries) => pending.extend(
                entries
                    .drain(..)
                    .map(|(_, v)| v)
                    .filter(Value::has_children),
            ),
            _ => {}
        };
        take(self, &mut pending);
        while let Some(mut v) = pending.pop() {
            take(&mut v, &mut pending);
        }
    }
}
