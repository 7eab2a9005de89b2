import FerryCore
import Foundation

/// An access key pair (and session token). `find` looks where the AWS tools keep fixed
/// keys: the `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` / `AWS_SESSION_TOKEN` variables,
/// else the profile's section of `~/.aws/credentials` (or `AWS_SHARED_CREDENTIALS_FILE`),
/// else of `~/.aws/config` (or `AWS_CONFIG_FILE`), where the AWS SDKs also take keys.
///
/// `description` shows the key id only; the secret never reaches a message or a log.
struct AWSCredentials: Sendable, CustomStringConvertible {
    let accessKey: String
    let secretKey: String
    let sessionToken: String?

    var description: String { "access key \(accessKey)" }

    /// Fixed keys, or nil when there are none; `looked` says where it looked, for the
    /// error, and `profileChosen` whether the profile was named rather than `default`.
    /// `profile` nil means `AWS_PROFILE`, else `AWS_DEFAULT_PROFILE`, else `default`.
    static func find(profile: String?, environment: AWSEnvironment)
        -> (found: AWSCredentials?, looked: String, profileChosen: Bool) {
        if profile == nil, let key = environment["AWS_ACCESS_KEY_ID"], let secret = environment["AWS_SECRET_ACCESS_KEY"] {
            return (AWSCredentials(accessKey: key, secretKey: secret, sessionToken: environment["AWS_SESSION_TOKEN"]), "", false)
        }
        let chosen = profile ?? environment["AWS_PROFILE"] ?? environment["AWS_DEFAULT_PROFILE"]
        let name = chosen ?? "default"
        let home = environment["HOME"] ?? NSHomeDirectory()
        let files = [environment["AWS_SHARED_CREDENTIALS_FILE"] ?? home + "/.aws/credentials",
                     environment["AWS_CONFIG_FILE"] ?? home + "/.aws/config"]
        for file in files {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8),
                  let section = parse(ini: text)[name],
                  let key = section["aws_access_key_id"], let secret = section["aws_secret_access_key"] else { continue }
            return (AWSCredentials(accessKey: key, secretKey: secret, sessionToken: section["aws_session_token"]), "", chosen != nil)
        }
        return (nil, "no AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, no aws_access_key_id and aws_secret_access_key "
                    + "under [\(name)] in \(files[0]) or \(files[1])", chosen != nil)
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
