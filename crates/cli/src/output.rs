//! How results and errors of the commands that call the server are printed: results as JSON
//! (or a text table) on standard output, errors as `{"Code","Message","RequestId"}` on
//! standard error.

use std::fmt::Write as _;

use serde_json::{Map, Value};

use crate::cli::{GlobalArgs, OutputFormat};
use crate::console::Console;
use crate::failure::{EXIT_FAILURE, EXIT_INVALID, Failure};

/// Writes `value` as the global options say (`--output`, `--query`).
pub fn print(
    console: &mut Console<'_>,
    options: &GlobalArgs,
    value: &Value,
) -> Result<(), Failure> {
    let value = match &options.query {
        None => value,
        Some(path) => match select(value, path) {
            Ok(Value::String(text)) => {
                writeln!(console.out(), "{text}")?;
                console.flush_out()?;
                return Ok(());
            }
            Ok(selected) => selected,
            Err(message) => {
                return Err(Problem::local("InvalidParameter.Query", message)
                    .with_exit(EXIT_FAILURE)
                    .report(console));
            }
        },
    };
    let text = match options.output {
        OutputFormat::Json => {
            let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
            text.push('\n');
            text
        }
        OutputFormat::Table => table(value),
    };
    console.out().write_all(text.as_bytes())?;
    console.flush_out()?;
    Ok(())
}

/// The value at `path` (`A.B[0].C`) in `value`.
pub fn select<'v>(value: &'v Value, path: &str) -> Result<&'v Value, String> {
    let mut current = value;
    for segment in path.split('.') {
        let (name, indexes) = match segment.find('[') {
            Some(i) => segment.split_at(i),
            None => (segment, ""),
        };
        if !name.is_empty() {
            current = current
                .get(name)
                .ok_or_else(|| format!("the result has no {path}: no field {name:?}"))?;
        }
        let mut rest = indexes;
        while let Some(after) = rest.strip_prefix('[') {
            let (index, tail) = after
                .split_once(']')
                .ok_or_else(|| format!("--query {path}: unclosed ["))?;
            let index: usize = index
                .parse()
                .map_err(|_| format!("--query {path}: [{index}] is not an index"))?;
            current = current
                .get(index)
                .ok_or_else(|| format!("the result has no {path}: no item [{index}]"))?;
            rest = tail;
        }
        if !rest.is_empty() {
            return Err(format!("--query {path}: unexpected {rest:?}"));
        }
    }
    Ok(current)
}

/// A failure in Alibaba's terms, printed as `{"Code","Message","RequestId"}`.
#[derive(Debug, Clone)]
pub struct Problem {
    pub code: String,
    pub message: String,
    /// The id of the call that failed; `None` when nothing was sent.
    pub request_id: Option<String>,
    /// The exit status.
    pub exit: u8,
}

impl Problem {
    /// A problem found before calling the server (bad input, no credentials): exit status 2.
    pub fn local(code: &str, message: impl Into<String>) -> Problem {
        Problem {
            code: code.to_owned(),
            message: message.into(),
            request_id: None,
            exit: EXIT_INVALID,
        }
    }

    /// A failed call: exit status 1.
    pub fn from_status(status: &tonic::Status, request_id: Option<&str>) -> Problem {
        let error = tessera_proto::alibaba::AlibabaError::from_status(status);
        Problem {
            code: error.code,
            message: error.message,
            request_id: request_id.map(str::to_owned),
            exit: EXIT_FAILURE,
        }
    }

    /// A client error: a call's status, or a connection that failed (exit status 1), or an
    /// unusable endpoint or credential (exit status 2).
    pub fn from_client(error: &tessera_client::Error) -> Problem {
        if let tessera_client::Error::Status(status) = error {
            return Problem::from_status(status, None);
        }
        let text = error.to_string();
        let message = text.split_once(": ").map_or(text.as_str(), |(_, m)| m);
        let problem = Problem::local(error.code(), message);
        match error {
            tessera_client::Error::Connect(_) => problem.with_exit(EXIT_FAILURE),
            _ => problem,
        }
    }

    pub fn with_exit(mut self, exit: u8) -> Problem {
        self.exit = exit;
        self
    }

    /// Prints the problem on standard error and returns the failure to exit with.
    pub fn report(self, console: &mut Console<'_>) -> Failure {
        let mut body = Map::new();
        body.insert("Code".into(), self.code.into());
        body.insert("Message".into(), self.message.into());
        body.insert(
            "RequestId".into(),
            self.request_id.map_or(Value::Null, Value::from),
        );
        let text = serde_json::to_string_pretty(&Value::Object(body)).unwrap_or_default();
        console.diagnostic(format_args!("{text}"));
        Failure::Reported(self.exit)
    }
}

/// A request id in Alibaba's form (a random UUID, upper case), sent with the call as
/// `x-request-id` and printed with its result or error.
pub fn new_request_id() -> String {
    let mut b: [u8; 16] = rand::random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02X}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

// --- tables ---

/// A text table of `value`: the rows of its list, if it has one (`{"Users": {"User": [...]}}`
/// or `{"Accounts": [...]}`), followed by its other fields one per row; else every field one
/// per row, nested ones named with dots (`User.UserName`). Fields are in name order at every
/// level (whether `serde_json` keeps insertion order depends on the features other crates of
/// the build enable, so the table never relies on it).
pub fn table(value: &Value) -> String {
    let mut out = String::new();
    let Value::Object(fields) = value else {
        let _ = writeln!(out, "{}", scalar(value));
        return out;
    };
    if let Some((list_key, rows)) = find_rows(fields) {
        out.push_str(&rows_table(rows));
        let rest: Vec<(String, String)> = sorted(fields)
            .into_iter()
            .filter(|(k, _)| *k != list_key)
            .flat_map(|(k, v)| flatten(k, v))
            .collect();
        if !rest.is_empty() {
            out.push('\n');
            out.push_str(&pairs_table(&rest));
        }
        return out;
    }
    let pairs: Vec<(String, String)> = sorted(fields)
        .into_iter()
        .flat_map(|(k, v)| flatten(k, v))
        .collect();
    out.push_str(&pairs_table(&pairs));
    out
}

/// The first list of objects among `fields`, directly or wrapped once.
fn find_rows(fields: &Map<String, Value>) -> Option<(&String, &Vec<Value>)> {
    sorted(fields)
        .into_iter()
        .find_map(|(key, value)| match value {
            Value::Array(items) if items.iter().all(Value::is_object) => Some((key, items)),
            Value::Object(inner) if inner.len() == 1 => match inner.values().next() {
                Some(Value::Array(items)) if items.iter().all(Value::is_object) => {
                    Some((key, items))
                }
                _ => None,
            },
            _ => None,
        })
}

fn rows_table(rows: &[Value]) -> String {
    let mut columns: Vec<&str> = Vec::new();
    for row in rows {
        if let Value::Object(fields) = row {
            for (key, _) in sorted(fields) {
                if !columns.contains(&key.as_str()) {
                    columns.push(key);
                }
            }
        }
    }
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|row| {
            columns
                .iter()
                .map(|c| row.get(*c).map(scalar).unwrap_or_default())
                .collect()
        })
        .collect();
    let header: Vec<String> = columns.iter().map(|c| (*c).to_owned()).collect();
    grid(&header, &cells)
}

fn pairs_table(pairs: &[(String, String)]) -> String {
    let header = vec!["Field".to_owned(), "Value".to_owned()];
    let cells: Vec<Vec<String>> = pairs
        .iter()
        .map(|(k, v)| vec![k.clone(), v.clone()])
        .collect();
    grid(&header, &cells)
}

/// Left-aligned columns two spaces apart, the header underlined with dashes.
fn grid(header: &[String], rows: &[Vec<String>]) -> String {
    let width = |s: &str| s.chars().count();
    let mut widths: Vec<usize> = header.iter().map(|h| width(h)).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(width(cell));
            }
        }
    }
    let mut out = String::new();
    let mut line = |cells: &[String]| {
        let mut text = String::new();
        for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
            if i > 0 {
                text.push_str("  ");
            }
            text.push_str(cell);
            text.extend(std::iter::repeat_n(' ', w.saturating_sub(width(cell))));
        }
        let _ = writeln!(out, "{}", text.trim_end());
    };
    line(header);
    let dashes: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    line(&dashes);
    for row in rows {
        line(row);
    }
    out
}

/// `(path, text)` of every scalar under `value`, objects flattened with dots.
fn flatten(key: &str, value: &Value) -> Vec<(String, String)> {
    match value {
        Value::Object(fields) if !fields.is_empty() => sorted(fields)
            .into_iter()
            .flat_map(|(k, v)| flatten(&format!("{key}.{k}"), v))
            .collect(),
        other => vec![(key.to_owned(), scalar(other))],
    }
}

/// The fields of an object in name order.
fn sorted(fields: &Map<String, Value>) -> Vec<(&String, &Value)> {
    let mut pairs: Vec<(&String, &Value)> = fields.iter().collect();
    pairs.sort_by(|a, b| a.0.cmp(b.0));
    pairs
}

/// A value as one cell: strings as they are, everything else as compact JSON, on one line.
fn scalar(value: &Value) -> String {
    let text = match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    text.replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{new_request_id, select, table};

    #[test]
    fn queries_select_by_dotted_path_and_index() {
        let value = json!({"Users": {"User": [{"UserName": "alice"}]}, "N": 1});
        assert_eq!(select(&value, "Users.User[0].UserName").unwrap(), "alice");
        assert_eq!(select(&value, "N").unwrap(), 1);
        assert!(
            select(&value, "Users.User[1]")
                .unwrap_err()
                .contains("no item [1]")
        );
        assert!(select(&value, "Nope").unwrap_err().contains("no field"));
        assert!(select(&value, "N[x]").is_err());
    }

    #[test]
    fn lists_become_rows_and_the_rest_follows() {
        let value = json!({
            "Users": {"User": [
                {"UserName": "alice", "UserId": "1"},
                {"UserName": "bob", "UserId": "2", "Comments": "x"}
            ]},
            "IsTruncated": false,
            "RequestId": "R"
        });
        assert_eq!(
            table(&value),
            "UserId  UserName  Comments\n\
             ------  --------  --------\n\
             1       alice\n\
             2       bob       x\n\
             \n\
             Field        Value\n\
             -----------  -----\n\
             IsTruncated  false\n\
             RequestId    R\n"
        );
    }

    #[test]
    fn objects_become_one_field_per_row() {
        let value = json!({"User": {"UserName": "alice", "Comments": "two\nlines"}});
        assert_eq!(
            table(&value),
            "Field          Value\n\
             -------------  ---------\n\
             User.Comments  two lines\n\
             User.UserName  alice\n"
        );
    }

    #[test]
    fn request_ids_look_like_alibabas() {
        let id = new_request_id();
        assert_eq!(id.len(), 36);
        assert_eq!(id.matches('-').count(), 4);
        assert_eq!(id, id.to_uppercase());
        assert_ne!(id, new_request_id());
    }
}
