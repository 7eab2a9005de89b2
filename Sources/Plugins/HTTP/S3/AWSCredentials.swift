import FerryCore
import Foundation

/// An access key pair (and session token), found where the AWS tools look: the
/// `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` / `AWS_SESSION_TOKEN` variables, else the
/// profile's section of `~/.aws/credentials` (or `AWS_SHARED_CREDENTIALS_FILE`).
///
/// `description` shows the key id only; the secret never reaches a message or a log.
struct AWSCredentials: Sendable, CustomStringConvertible {
    let accessKey: String
    let secretKey: String
    let sessionToken: String?

    var description: String { "access key \(accessKey)" }

    /// `profile` nil means `AWS_PROFILE`, else `default`.
    static func find(profile: String?, location: String) throws(ConfigError) -> AWSCredentials {
        if profile == nil, let key = getenvString("AWS_ACCESS_KEY_ID"), let secret = getenvString("AWS_SECRET_ACCESS_KEY") {
            return AWSCredentials(accessKey: key, secretKey: secret, sessionToken: getenvString("AWS_SESSION_TOKEN"))
        }
        let name = profile ?? getenvString("AWS_PROFILE") ?? "default"
        let file = getenvString("AWS_SHARED_CREDENTIALS_FILE") ?? expandingTilde("~/.aws/credentials")
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
            throw ConfigError(location, "no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or write [\(name)] in \(file)")
        }
        let section = parse(ini: text)[name] ?? [:]
        guard let key = section["aws_access_key_id"], let secret = section["aws_secret_access_key"] else {
            throw ConfigError(location, "\(file) has no aws_access_key_id and aws_secret_access_key under [\(name)]")
        }
        return AWSCredentials(accessKey: key, secretKey: secret, sessionToken: section["aws_session_token"])
    }

    /// Sections of an INI file, each a table of `key = value`; `#` and `;` start comments.
    static func parse(ini text: String) -> [String: [String: String]] {
        var sections: [String: [String: String]] = [:]
        var current: String?
        for raw in text.split(whereSeparator: \.isNewline) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("[") && line.hasSuffix("]") {
                var name = String(line.dropFirst().dropLast()).trimmingCharacters(in: .whitespaces)
                if name.hasPrefix("profile ") { name = String(name.dropFirst(8)) }
                current = name
                if sections[name] == nil { sections[name] = [:] }
            } else if let current, let equals = line.firstIndex(of: "=") {
                let key = line[..<equals].trimmingCharacters(in: .whitespaces)
                let value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
                sections[current]![key] = value
            }
        }
        return sections
    }
}
