/// The version `portal --version` prints.
public enum PortalVersion {
    public static let current = "0.1.0"
}
