//! Query strings as E2B's Go servers read them (`url.ParseQuery`): `+` is a space, `%XX` is a
//! byte, a malformed escape stays as written, the first value of a repeated name wins. The
//! proxy (routing a presigned `/files` URL) and envd (checking it) must read the same
//! parameters, so both decode here.

use std::collections::HashMap;

/// The decoded parameters of a query string (`None`: no query).
pub fn decode(query: Option<&str>) -> HashMap<String, String> {
    let mut params = HashMap::new();
    for (name, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        params
            .entry(name.into_owned())
            .or_insert_with(|| value.into_owned());
    }
    params
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_like_go() {
        let q = decode(Some(
            "path=%2Fhome%2Fuser%2Fa+b.txt&username=user&path=ignored&bad=%zz&end=%4&flag",
        ));
        assert_eq!(q["path"], "/home/user/a b.txt");
        assert_eq!(q["username"], "user");
        assert_eq!(q["bad"], "%zz");
        assert_eq!(q["end"], "%4");
        assert_eq!(q["flag"], "");
        assert!(decode(None).is_empty());
    }
}
