import COpenSSL
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An X.509 certificate uploaded for mutual TLS, parsed with OpenSSL and checked against the
/// portal's rules.
///
/// `Certificate.parse(_:now:)` accepts PEM (one or more `-----BEGIN …-----` blocks; the first
/// `CERTIFICATE` block is the one described, any further ones are taken as its chain and ignored)
/// or a single DER certificate. It refuses, with one sentence each (`CertificateError.message`):
/// anything that is not a certificate; any upload holding a private key (a PEM block whose label
/// contains `PRIVATE KEY`, or DER that parses as a private key) — the caller must keep nothing of
/// such an upload; a certificate outside its validity period at `now`; RSA keys under 2048 bits;
/// EC keys on a curve other than P-256 or P-384; any other key type.
///
/// Duplicates are the caller's business: compare `sha256Fingerprint`.
public struct Certificate: Sendable, Equatable {
    /// The public key, as the page shows it.
    public enum KeyType: Sendable, Equatable {
        case rsa(bits: Int)
        case ec(curve: String)

        /// "RSA 2048", "EC P-256".
        public var description: String {
            switch self {
            case .rsa(let bits): "RSA \(bits)"
            case .ec(let curve): "EC \(curve)"
            }
        }
    }

    /// One subjectAltName entry of the kinds the page lists.
    public enum AlternativeName: Sendable, Equatable {
        case dns(String)
        case ip(String)
        case uri(String)
        case email(String)

        /// "DNS:api.example.com", "IP:127.0.0.1", as `openssl x509 -ext subjectAltName` prints.
        public var description: String {
            switch self {
            case .dns(let v): "DNS:\(v)"
            case .ip(let v): "IP:\(v)"
            case .uri(let v): "URI:\(v)"
            case .email(let v): "email:\(v)"
            }
        }
    }

    /// The certificate's DER encoding (what the fingerprint is computed over).
    public let der: [UInt8]
    /// The subject as an RFC 2253 string (`CN=api.example.com,O=Example,C=NL`).
    public let subject: String
    /// The issuer, in the same form.
    public let issuer: String
    /// The serial number in upper-case hex, two digits per byte (as `openssl x509 -serial`).
    public let serialHex: String
    /// SHA-256 of the DER, 32 bytes.
    public let sha256: [UInt8]
    public let keyType: KeyType
    /// Validity period, Unix seconds.
    public let notBefore: Int64
    public let notAfter: Int64
    public let alternativeNames: [AlternativeName]

    /// The SHA-256 fingerprint as upper-case hex pairs joined by colons (as `openssl x509
    /// -fingerprint -sha256` prints it).
    public var sha256Fingerprint: String {
        Certificate.colonHex(sha256)
    }

    /// The RFC 8705 `x5t#S256` confirmation value: base64url of the SHA-256 of the DER.
    public var x5tS256: String {
        Base64URL.encode(sha256)
    }

    /// Largest upload considered: certificates are a few kilobytes; chains rarely exceed 16 KiB.
    public static let maximumUploadBytes = 64 * 1024

    /// Parses and checks `upload` (PEM or DER bytes) at time `now` (Unix seconds).
    public static func parse(_ upload: [UInt8], now: Int64) throws(CertificateError) -> Certificate {
        guard !upload.isEmpty else { throw .notACertificate }
        guard upload.count <= maximumUploadBytes else { throw .tooLarge }
        defer { OpenSSLError.clear() }
        let der: [UInt8]
        if let blocks = PEMBlock.parseAll(upload) {
            // A private key anywhere in the upload refuses the whole of it, before anything
            // else is looked at.
            if blocks.contains(where: { $0.label.contains("PRIVATE KEY") }) { throw .containsPrivateKey }
            guard let first = blocks.first(where: { $0.label == "CERTIFICATE" || $0.label == "X509 CERTIFICATE" || $0.label == "TRUSTED CERTIFICATE" }) else {
                throw .notACertificate
            }
            der = first.der
        } else {
            // Text that mentions a private key but did not parse as PEM is still refused as one.
            if containsPrivateKeyMarker(upload) { throw .containsPrivateKey }
            der = upload
        }
        return try parseDER(der, now: now, wholeUpload: der.count == upload.count ? upload : nil)
    }

    private static func parseDER(_ der: [UInt8], now: Int64, wholeUpload: [UInt8]?) throws(CertificateError) -> Certificate {
        var consumed = 0
        let x509: OpaquePointer? = der.withUnsafeBufferPointer { buffer in
            var pointer: UnsafePointer<UInt8>? = buffer.baseAddress
            let cert = d2i_X509(nil, &pointer, buffer.count)
            if let pointer, let base = buffer.baseAddress { consumed = base.distance(to: pointer) }
            return cert
        }
        guard let x509 else {
            if let wholeUpload, isPrivateKeyDER(wholeUpload) { throw .containsPrivateKey }
            throw .notACertificate
        }
        defer { X509_free(x509) }
        if consumed != der.count {
            // Bytes after the certificate: a key appended in DER is refused as a key.
            if isPrivateKeyDER(Array(der[consumed...])) { throw .containsPrivateKey }
            throw .notACertificate
        }
        let certDER = Array(der[..<consumed])

        guard let notBefore = time(X509_get0_notBefore(x509)),
              let notAfter = time(X509_get0_notAfter(x509)) else { throw .notACertificate }
        let keyType = try publicKey(x509)
        let certificate = Certificate(
            der: certDER,
            subject: name(X509_get_subject_name(x509)),
            issuer: name(X509_get_issuer_name(x509)),
            serialHex: serial(x509),
            sha256: Digest.sha256(certDER),
            keyType: keyType,
            notBefore: notBefore,
            notAfter: notAfter,
            alternativeNames: alternativeNames(x509))
        if now < notBefore { throw .notYetValid(notBefore: notBefore) }
        if now > notAfter { throw .expired(notAfter: notAfter) }
        return certificate
    }

    // MARK: - Fields

    private static func name(_ name: OpaquePointer?) -> String {
        guard let name, let bio = BIO_new(BIO_s_mem()) else { return "" }
        defer { BIO_free(bio) }
        guard X509_NAME_print_ex(bio, name, 0, portal_xn_flags_rfc2253_utf8()) >= 0 else { return "" }
        var data: UnsafeMutablePointer<CChar>?
        let length = portal_bio_mem_data(bio, &data)
        guard let data, length > 0 else { return "" }
        return data.withMemoryRebound(to: UInt8.self, capacity: Int(length)) {
            String(decoding: UnsafeBufferPointer(start: $0, count: Int(length)), as: UTF8.self)
        }
    }

    private static func serial(_ x509: OpaquePointer) -> String {
        guard let serial = X509_get0_serialNumber(x509) else { return "" }
        let bytes = stringBytes(serial)
        return bytes.isEmpty ? "00" : Hex.encode(bytes).uppercased()
    }

    private static func time(_ asn1: UnsafePointer<ASN1_TIME>?) -> Int64? {
        guard let asn1 else { return nil }
        var parts = tm()
        guard ASN1_TIME_to_tm(asn1, &parts) == 1 else { return nil }
        return Int64(timegm(&parts))
    }

    private static func publicKey(_ x509: OpaquePointer) throws(CertificateError) -> KeyType {
        guard let key = X509_get0_pubkey(x509) else { throw .notACertificate }
        let id = EVP_PKEY_get_base_id(key)
        switch id {
        case EVP_PKEY_RSA, EVP_PKEY_RSA_PSS:
            let bits = Int(EVP_PKEY_get_bits(key))
            guard bits >= 2048 else { throw .rsaTooSmall(bits: bits) }
            return .rsa(bits: bits)
        case EVP_PKEY_EC:
            var buffer = [CChar](repeating: 0, count: 80)
            var length = 0
            guard EVP_PKEY_get_group_name(key, &buffer, buffer.count, &length) == 1 else {
                throw .unsupportedCurve(name: "unnamed")
            }
            let group = String(decoding: buffer.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            switch group {
            case "prime256v1", "P-256", "secp256r1": return .ec(curve: "P-256")
            case "secp384r1", "P-384": return .ec(curve: "P-384")
            default: throw .unsupportedCurve(name: group)
            }
        default:
            let short = OBJ_nid2sn(id).map { String(cString: $0) } ?? "unknown"
            throw .unsupportedKeyType(name: short)
        }
    }

    private static func alternativeNames(_ x509: OpaquePointer) -> [AlternativeName] {
        guard let names = X509_get_ext_d2i(x509, NID_subject_alt_name, nil, nil) else { return [] }
        defer { portal_general_names_free(names) }
        var result: [AlternativeName] = []
        for index in 0..<portal_general_names_count(names) {
            guard let string = portal_general_name_string(names, index) else { continue }
            let bytes = stringBytes(string)
            switch portal_general_name_type(names, index) {
            case GEN_DNS: result.append(.dns(String(decoding: bytes, as: UTF8.self)))
            case GEN_EMAIL: result.append(.email(String(decoding: bytes, as: UTF8.self)))
            case GEN_URI: result.append(.uri(String(decoding: bytes, as: UTF8.self)))
            case GEN_IPADD: if let ip = ipString(bytes) { result.append(.ip(ip)) }
            default: break
            }
        }
        return result
    }

    private static func stringBytes(_ string: UnsafePointer<ASN1_STRING>) -> [UInt8] {
        let length = Int(ASN1_STRING_length(string))
        guard length > 0, let data = ASN1_STRING_get0_data(string) else { return [] }
        return Array(UnsafeBufferPointer(start: data, count: length))
    }

    private static func ipString(_ bytes: [UInt8]) -> String? {
        let family: Int32
        switch bytes.count {
        case 4: family = AF_INET
        case 16: family = AF_INET6
        default: return nil
        }
        var buffer = [CChar](repeating: 0, count: 64)
        let ok = bytes.withUnsafeBytes { inet_ntop(family, $0.baseAddress, &buffer, socklen_t(buffer.count)) }
        guard ok != nil else { return nil }
        return String(cString: buffer)
    }

    // MARK: - Private keys

    private static func isPrivateKeyDER(_ der: [UInt8]) -> Bool {
        der.withUnsafeBufferPointer { buffer in
            var pointer: UnsafePointer<UInt8>? = buffer.baseAddress
            if let key = d2i_AutoPrivateKey(nil, &pointer, buffer.count) {
                EVP_PKEY_free(key)
                return true
            }
            pointer = buffer.baseAddress
            // An encrypted PKCS#8 key (EncryptedPrivateKeyInfo) is still a private key.
            if let sig = d2i_X509_SIG(nil, &pointer, buffer.count) {
                X509_SIG_free(sig)
                return true
            }
            return false
        }
    }

    private static func containsPrivateKeyMarker(_ bytes: [UInt8]) -> Bool {
        let marker = Array("PRIVATE KEY-----".utf8)
        guard bytes.count >= marker.count else { return false }
        for start in 0...(bytes.count - marker.count) where bytes[start] == marker[0] {
            if Array(bytes[start..<(start + marker.count)]) == marker { return true }
        }
        return false
    }

    static func colonHex(_ bytes: [UInt8]) -> String {
        bytes.map { Hex.encode([$0]).uppercased() }.joined(separator: ":")
    }
}

/// Why an upload was refused, each with the sentence the page shows.
public enum CertificateError: Error, Equatable, Sendable {
    case notACertificate
    case tooLarge
    case containsPrivateKey
    case expired(notAfter: Int64)
    case notYetValid(notBefore: Int64)
    case rsaTooSmall(bits: Int)
    case unsupportedCurve(name: String)
    case unsupportedKeyType(name: String)

    public var message: String {
        switch self {
        case .notACertificate:
            "This is not an X.509 certificate: upload one PEM (-----BEGIN CERTIFICATE-----) or DER certificate."
        case .tooLarge:
            "This file is too large for a certificate (at most 64 KiB)."
        case .containsPrivateKey:
            "This upload contains a private key: we never want your private key; nothing of it was kept."
        case .expired:
            "This certificate has expired: upload one that is currently valid."
        case .notYetValid:
            "This certificate is not valid yet: upload one that is currently valid."
        case .rsaTooSmall(let bits):
            "This certificate's RSA key has \(bits) bits: at least 2048 bits are required."
        case .unsupportedCurve(let name):
            "This certificate's EC key uses the curve \(name): only P-256 and P-384 are accepted."
        case .unsupportedKeyType(let name):
            "This certificate's key type (\(name)) is not accepted: use RSA (2048 bits or more) or EC P-256/P-384."
        }
    }
}

/// One `-----BEGIN label----- … -----END label-----` block.
struct PEMBlock {
    var label: String
    var der: [UInt8]

    /// All blocks of `bytes`, or `nil` when it holds no well-formed PEM block. Text outside
    /// blocks (comments, `openssl x509 -text` output) is ignored; an opened block must close
    /// with the same label and carry valid base64 (RFC 1421 headers such as `Proc-Type:` are
    /// skipped, so legacy encrypted keys are still recognised by their label).
    static func parseAll(_ bytes: [UInt8]) -> [PEMBlock]? {
        guard let text = String(validatingUTF8: bytes.map { CChar(bitPattern: $0) } + [0]) else { return nil }
        var blocks: [PEMBlock] = []
        var current: (label: String, body: String)?
        for rawLine in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }) {
            let line = rawLine.trimmingSpaces()
            if let (label, body) = current {
                if line.hasPrefix("-----END "), line.hasSuffix("-----") {
                    let endLabel = String(line.dropFirst(9).dropLast(5))
                    guard endLabel == label else { return nil }
                    // A block whose body is not base64 still counts when it names a private key.
                    let der = Base64.decode(body) ?? []
                    guard !der.isEmpty || label.contains("PRIVATE KEY") else { return nil }
                    blocks.append(PEMBlock(label: label, der: der))
                    current = nil
                } else if line.contains(":") {
                    continue // an RFC 1421 header
                } else {
                    current = (label, body + line)
                }
            } else if line.hasPrefix("-----BEGIN "), line.hasSuffix("-----") {
                current = (String(line.dropFirst(11).dropLast(5)), "")
            }
        }
        if let current, current.label.contains("PRIVATE KEY") {
            blocks.append(PEMBlock(label: current.label, der: []))
        }
        return blocks.isEmpty ? nil : blocks
    }
}

private extension Substring {
    func trimmingSpaces() -> String {
        var slice = self[...]
        while let first = slice.first, first == " " || first == "\t" { slice = slice.dropFirst() }
        while let last = slice.last, last == " " || last == "\t" || last == "\r" { slice = slice.dropLast() }
        return String(slice)
    }
}
