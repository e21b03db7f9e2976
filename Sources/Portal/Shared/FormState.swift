import Web

/// A form as a page shows it again after a refusal: what was typed, the message beside each
/// field, and which field to look at first. Page view models answer `values`, `errors`,
/// `hasErrors` and `firstError` from it, so every form template reads the same names
/// (`{{values.name}}`, `{{#errors.name}}…{{/errors.name}}`).
struct FormState: ViewModel {
    var values: [String: String]
    var errors: [String: String]
    /// The fields in the order the form shows them, to find the first one in error.
    var order: [String]

    init(values: [String: String] = [:], errors: [String: String] = [:], order: [String] = []) {
        self.values = values
        self.errors = errors
        self.order = order
    }

    static let empty = FormState()

    var hasErrors: Bool { !errors.isEmpty }

    /// The first field, in the form's order, with a message ("form" when only the form has one).
    var firstError: String? {
        order.first { errors[$0] != nil } ?? errors.keys.filter { $0 != "form" }.sorted().first ?? (errors["form"] != nil ? "form" : nil)
    }

    /// The same form with one message added (e.g. a conflict for the whole form).
    func with(error message: String, for field: String = "form") -> FormState {
        var copy = self
        copy.errors[field] = message
        return copy
    }

    func child(named name: String) -> Any? {
        switch name {
        case "values": values
        case "errors": errors
        case "hasErrors": hasErrors
        case "firstError": firstError
        default: nil
        }
    }
}
