import Web

/// An `<option>` of a form's `<select>` (a filter, a country, an industry): the value sent,
/// the words shown, and whether it is the one chosen. Templates read `value`, `label` and
/// `selected`.
struct Choice: ViewModel {
    let value: String
    let label: String
    let selected: Bool

    func child(named name: String) -> Any? {
        switch name {
        case "value": value
        case "label": label
        case "selected": selected
        default: nil
        }
    }
}
