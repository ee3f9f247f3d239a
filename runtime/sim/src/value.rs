//! `Value`: the data a probe shows a hook (its arguments) and takes back (its
//! result). It is the only currency between the model and a script host, so
//! the core never sees the host's own value type.

use std::fmt;
use std::rc::Rc;

/// A plain value crossing the probe boundary.
#[derive(Clone, Debug, PartialEq, Default)]
pub enum Value {
    /// No value (`()` in Rhai, `None` in Python, `void` in C).
    #[default]
    Unit,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A string.
    Str(Rc<str>),
    /// A list.
    List(Vec<Value>),
    /// A map with keys in insertion order.
    Map(Vec<(Rc<str>, Value)>),
}

impl Value {
    /// A string value.
    pub fn str(s: impl AsRef<str>) -> Value {
        Value::Str(Rc::from(s.as_ref()))
    }
    /// The integer inside, if this is one.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::Bool(b) => Some(*b as i64),
            _ => None,
        }
    }
    /// The string inside, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }
    /// The name of the value's type, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Unit => "()",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::Str(_) => "string",
            Value::List(_) => "array",
            Value::Map(_) => "map",
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Unit => write!(f, "()"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{x}"),
            Value::Str(s) => write!(f, "{s:?}"),
            Value::List(l) => {
                write!(f, "[")?;
                for (i, v) in l.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{v}")?;
                }
                write!(f, "]")
            }
            Value::Map(m) => {
                write!(f, "#{{")?;
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{k}: {v}")?;
                }
                write!(f, "}}")
            }
        }
    }
}

/// A Rust type a probe can return: it converts to a `Value` for hooks that
/// read it (`ctx.orig()`), and back from the `Value` a replacing hook returns.
pub trait ProbeValue: Sized + 'static {
    /// This result as a value.
    fn to_value(&self) -> Value;
    /// The result a hook's value stands for, or why it cannot stand for one.
    fn from_value(v: Value) -> Result<Self, String>;
}

impl ProbeValue for () {
    fn to_value(&self) -> Value {
        Value::Unit
    }
    fn from_value(_: Value) -> Result<Self, String> {
        Ok(())
    }
}

impl ProbeValue for bool {
    fn to_value(&self) -> Value {
        Value::Bool(*self)
    }
    fn from_value(v: Value) -> Result<Self, String> {
        match v {
            Value::Bool(b) => Ok(b),
            Value::Int(i) => Ok(i != 0),
            Value::Unit => Ok(false),
            other => Err(format!(
                "expected a bool, the hook returned {}",
                other.type_name()
            )),
        }
    }
}

impl ProbeValue for i64 {
    fn to_value(&self) -> Value {
        Value::Int(*self)
    }
    fn from_value(v: Value) -> Result<Self, String> {
        match v {
            Value::Int(i) => Ok(i),
            Value::Bool(b) => Ok(b as i64),
            Value::Unit => Ok(0),
            other => Err(format!(
                "expected an int, the hook returned {}",
                other.type_name()
            )),
        }
    }
}

impl ProbeValue for Option<String> {
    fn to_value(&self) -> Value {
        match self {
            Some(s) => Value::str(s),
            None => Value::Unit,
        }
    }
    fn from_value(v: Value) -> Result<Self, String> {
        match v {
            Value::Unit => Ok(None),
            Value::Str(s) => Ok(Some(s.to_string())),
            other => Err(format!(
                "expected a string or (), the hook returned {}",
                other.type_name()
            )),
        }
    }
}

impl ProbeValue for String {
    fn to_value(&self) -> Value {
        Value::str(self)
    }
    fn from_value(v: Value) -> Result<Self, String> {
        match v {
            Value::Str(s) => Ok(s.to_string()),
            Value::Unit => Ok(String::new()),
            other => Err(format!(
                "expected a string, the hook returned {}",
                other.type_name()
            )),
        }
    }
}
