//! `lifecycle` of `Sandbox.create` (`onTimeout`, `autoResume`): validated as the official SDK
//! does, and turned into the create body's `autoPause`, `autoPauseMemory` and `autoResume`.

use crate::error::{ErrorClass, SdkError};
use crate::prelude::*;

/// What to do when a sandbox times out (`lifecycle.onTimeout`).
#[derive(Clone, Debug, PartialEq)]
pub struct OnTimeout {
    pub action: String,
    /// `Some` only when the caller wrote `keepMemory` (object form).
    pub keep_memory: Option<bool>,
}

/// The create body's lifecycle fields: `autoPause`, `autoPauseMemory`, `autoResume.enabled`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LifecycleFields {
    pub auto_pause: Option<bool>,
    pub auto_pause_memory: Option<bool>,
    pub auto_resume: Option<bool>,
}

/// Validates `lifecycle` exactly as the official SDK does and derives the body fields.
pub fn lifecycle_fields(
    on_timeout: Option<&OnTimeout>,
    auto_resume: Option<bool>,
    object_form: bool,
) -> Result<LifecycleFields, SdkError> {
    let action = on_timeout.map_or("kill", |o| o.action.as_str());
    let invalid = |m: String| SdkError::new(ErrorClass::InvalidArgument, m);
    if on_timeout.is_some() && action != "pause" && action != "kill" {
        let field = if object_form {
            "onTimeout.action"
        } else {
            "onTimeout"
        };
        let message = [
            field,
            " must be one of: pause, kill (got \"",
            action,
            "\").",
        ]
        .concat();
        return Err(invalid(message));
    }
    let keep_memory = on_timeout.and_then(|o| o.keep_memory);
    if keep_memory.is_some() && action != "pause" {
        return Err(invalid(
            "onTimeout.keepMemory is only allowed when action is 'pause'.".into(),
        ));
    }
    if auto_resume == Some(true) && action != "pause" {
        return Err(invalid(
            "autoResume can only be true when onTimeout action is 'pause'.".into(),
        ));
    }
    if keep_memory == Some(false) && auto_resume == Some(true) {
        return Err(invalid("autoResume: true is not a valid value when keepMemory: false - a filesystem-only snapshot cannot be auto-resumed by traffic and must be resumed explicitly using Sandbox.connect().".into()));
    }
    Ok(LifecycleFields {
        auto_pause: on_timeout.map(|_| action == "pause"),
        auto_pause_memory: if action == "pause" { keep_memory } else { None },
        auto_resume,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifecycle_combinations_are_validated() {
        let pause = OnTimeout {
            action: "pause".into(),
            keep_memory: None,
        };
        assert_eq!(
            lifecycle_fields(Some(&pause), Some(true), false).unwrap(),
            LifecycleFields {
                auto_pause: Some(true),
                auto_pause_memory: None,
                auto_resume: Some(true)
            }
        );
        assert_eq!(
            lifecycle_fields(None, None, false).unwrap(),
            LifecycleFields::default()
        );
        let kill = OnTimeout {
            action: "kill".into(),
            keep_memory: None,
        };
        assert_eq!(
            lifecycle_fields(Some(&kill), None, false)
                .unwrap()
                .auto_pause,
            Some(false)
        );
        assert!(lifecycle_fields(Some(&kill), Some(true), false).is_err());
        let kill_mem = OnTimeout {
            action: "kill".into(),
            keep_memory: Some(true),
        };
        assert!(lifecycle_fields(Some(&kill_mem), None, true).is_err());
        let cold = OnTimeout {
            action: "pause".into(),
            keep_memory: Some(false),
        };
        assert_eq!(
            lifecycle_fields(Some(&cold), Some(true), true)
                .unwrap_err()
                .class,
            ErrorClass::InvalidArgument
        );
        assert_eq!(
            lifecycle_fields(Some(&cold), None, true)
                .unwrap()
                .auto_pause_memory,
            Some(false)
        );
        let bad = OnTimeout {
            action: "sleep".into(),
            keep_memory: None,
        };
        assert_eq!(
            lifecycle_fields(Some(&bad), None, false)
                .unwrap_err()
                .message,
            "onTimeout must be one of: pause, kill (got \"sleep\")."
        );
    }
}
