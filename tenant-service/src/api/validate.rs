//! Field checks shared by the handlers: each names its field in the 400 or 422.

use crate::error::ApiError;
use uuid::Uuid;

/// Parses a UUID path segment.
pub fn parse_id(s: &str, field: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(s).map_err(|_| ApiError::bad_request(field, format!("'{s}' is not a UUID")))
}

/// Requires a non-blank string.
pub fn required(value: &str, field: &str) -> Result<(), ApiError> {
    if value.trim().is_empty() {
        return Err(ApiError::bad_request(
            field,
            format!("{field} must not be empty"),
        ));
    }
    if value.contains('\0') {
        return Err(ApiError::bad_request(
            field,
            format!("{field} must not contain NUL characters"),
        ));
    }
    Ok(())
}

/// An optional string of at most `max` characters (may be blank).
pub fn optional_text(value: &str, field: &str, max: usize) -> Result<(), ApiError> {
    if value.contains('\0') {
        return Err(ApiError::bad_request(
            field,
            format!("{field} must not contain NUL characters"),
        ));
    }
    if value.chars().count() > max {
        return Err(ApiError::bad_request(
            field,
            format!("{field} must be at most {max} characters"),
        ));
    }
    Ok(())
}

/// The years any date of this API may fall in: enforcement records of this century.
pub const YEARS: std::ops::RangeInclusive<i32> = 2000..=2100;

/// Requires a date within [`YEARS`].
pub fn date_in_range(date: chrono::NaiveDate, field: &str) -> Result<(), ApiError> {
    use chrono::Datelike;
    if !YEARS.contains(&date.year()) {
        return Err(ApiError::bad_request(
            field,
            format!(
                "{field} must be a date in the years {} to {}",
                YEARS.start(),
                YEARS.end()
            ),
        ));
    }
    Ok(())
}

/// Requires an instant within [`YEARS`] (China Standard Time).
pub fn instant_in_range(at: chrono::DateTime<chrono::Utc>, field: &str) -> Result<(), ApiError> {
    date_in_range(
        at.with_timezone(&sanxiang_domain::china_offset())
            .date_naive(),
        field,
    )
}

/// Requires a list of at most `max` items.
pub fn bounded<T>(items: &[T], field: &str, max: usize) -> Result<(), ApiError> {
    if items.len() > max {
        return Err(ApiError::bad_request(
            field,
            format!("{field} may list at most {max} items, got {}", items.len()),
        ));
    }
    Ok(())
}

/// Requires a string of at most `max` characters, non-blank.
pub fn text(value: &str, field: &str, max: usize) -> Result<(), ApiError> {
    required(value, field)?;
    if value.chars().count() > max {
        return Err(ApiError::bad_request(
            field,
            format!("{field} must be at most {max} characters"),
        ));
    }
    Ok(())
}
