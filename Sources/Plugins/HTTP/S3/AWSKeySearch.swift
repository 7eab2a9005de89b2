import Foundation

/// Where the environment and the AWS profile files say S3 keys come from, looked up in
/// the order of the AWS SDKs (and so of Nix): the `AWS_ACCESS_KEY_ID` /
/// `AWS_SECRET_ACCESS_KEY` / `AWS_SESSION_TOKEN` variables; else the profile's role
/// (`role_arn` with `source_profile` or `credential_source`, see `AWSProfileRole`); else
/// the profile's keys, in its section of `~/.aws/credentials` (`AWS_SHARED_CREDENTIALS_FILE`)
/// or of `~/.aws/config` (`AWS_CONFIG_FILE`); else its `credential_process`; else a web
/// identity (`AWS_WEB_IDENTITY_TOKEN_FILE` and `AWS_ROLE_ARN`, or the profile's
/// `web_identity_token_file` and `role_arn`). The profile is `profile`, else `AWS_PROFILE`,
/// else `AWS_DEFAULT_PROFILE`, else `default`.
struct AWSKeySearch {
    enum Source {
        /// Keys as they are, and where they were written, for messages.
        case keys(AWSCredentials, from: String)
        /// A command that prints keys as JSON.
        case process(command: String)
        /// A role to assume with the token in a file, through STS at `sts`.
        case webIdentity(role: String, tokenFile: String, sessionName: String, sts: String)
        /// A role to assume with the keys of another source.
        indirect case assumeRole(AWSProfileRole.AssumeRole, from: Source)
        /// The container's credentials endpoint (`credential_source = EcsContainer`).
        case container
        /// The instance's role (`credential_source = Ec2InstanceMetadata`).
        case instance
        /// A profile that says where its keys come from, but wrongly (a `source_profile`
        /// that is not there): an error, not a reason to look further and sign as
        /// someone else.
        case invalid(String)
    }

    /// Nil when neither the variables nor the profile name a source.
    let source: Source?
    /// Where it looked, for the error when nothing was found.
    let looked: String
    /// The profile was named, rather than `default`: then it must be the source (another
    /// identity, such as the instance's role, is not what was asked for).
    let profileChosen: Bool

    init(profile: String?, environment: EnvironmentVariables) {
        let chosen = profile ?? environment["AWS_PROFILE"] ?? environment["AWS_DEFAULT_PROFILE"]
        let name = chosen ?? "default"
        let home = environment["HOME"] ?? NSHomeDirectory()
        let files = [environment["AWS_SHARED_CREDENTIALS_FILE"] ?? home + "/.aws/credentials",
                     environment["AWS_CONFIG_FILE"] ?? home + "/.aws/config"]
        // The credentials file wins where both set a key of a profile.
        let sections = files.reversed().reduce(into: [String: [String: String]]()) { merged, file in
            let text = try? String(contentsOfFile: file, encoding: .utf8)
            merged.merge(text.map(Self.parse(ini:)) ?? [:]) { old, new in old.merging(new) { $1 } }
        }
        profileChosen = chosen != nil
        looked = "no AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; no role_arn (with source_profile or credential_source), "
            + "no aws_access_key_id and aws_secret_access_key, credential_process or web_identity_token_file under [\(name)] "
            + "in \(files[0]) or \(files[1]); no AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN"
        let roles = AWSProfileRole(sections: sections, environment: environment,
                                   sts: Self.sts(environment, region: sections[name]?["region"]))
        source = Self.source(profile == nil ? environment : EnvironmentVariables([:]), profile: name, roles: roles, chain: [])
    }

    /// The first source: the variables' keys, the profile's role, its keys, its command, a
    /// web identity from the variables, then from the profile. `variables` is empty when a
    /// profile was passed by name (or is a role's source): then only the profile counts.
    /// A role's source profile (`chain` not empty) gives its keys before its own role, as
    /// the SDKs read it.
    static func source(_ variables: EnvironmentVariables, profile name: String, roles: AWSProfileRole, chain: [String]) -> Source? {
        let section = roles.sections[name] ?? [:]
        if let keys = variableKeys(variables) { return .keys(keys, from: "the AWS_* variables") }
        let ownKeys = staticKeys(section).map { Source.keys($0, from: "the keys of profile \(name)") }
        if !chain.isEmpty, let ownKeys { return ownKeys }
        if let arn = section["role_arn"], section["web_identity_token_file"] == nil {
            return roles.assume(arn, profile: name, chain: chain)
        }
        if let ownKeys { return ownKeys }
        if let command = section["credential_process"] { return .process(command: command) }
        // The token file and the role come as a pair, from the variables or from the profile.
        let pairs = [(variables["AWS_WEB_IDENTITY_TOKEN_FILE"], variables["AWS_ROLE_ARN"]),
                     (section["web_identity_token_file"], section["role_arn"])]
        guard case let (tokenFile?, role?)? = pairs.first(where: { $0.0 != nil && $0.1 != nil }) else { return nil }
        let sessionName = roles.environment["AWS_ROLE_SESSION_NAME"] ?? AWSProfileRole.sessionName(section)
        return .webIdentity(role: role, tokenFile: tokenFile, sessionName: sessionName,
                            sts: sts(roles.environment, region: section["region"]).url)
    }

    static func variableKeys(_ variables: EnvironmentVariables) -> AWSCredentials? {
        guard let key = variables["AWS_ACCESS_KEY_ID"], let secret = variables["AWS_SECRET_ACCESS_KEY"] else { return nil }
        return AWSCredentials(accessKey: key, secretKey: secret, sessionToken: variables["AWS_SESSION_TOKEN"])
    }

    static func staticKeys(_ section: [String: String]) -> AWSCredentials? {
        guard let key = section["aws_access_key_id"], let secret = section["aws_secret_access_key"] else { return nil }
        return AWSCredentials(accessKey: key, secretKey: secret, sessionToken: section["aws_session_token"])
    }

    /// STS's URL and the region its requests are signed for: `AWS_ENDPOINT_URL_STS`, else
    /// `AWS_ENDPOINT_URL`, else the STS of the region (`AWS_REGION`, `AWS_DEFAULT_REGION` or
    /// the profile's), else the global one, which signs for us-east-1.
    static func sts(_ environment: EnvironmentVariables, region profileRegion: String?) -> (url: String, region: String) {
        let region = environment["AWS_REGION"] ?? environment["AWS_DEFAULT_REGION"] ?? profileRegion
        if let url = environment["AWS_ENDPOINT_URL_STS"] ?? environment["AWS_ENDPOINT_URL"] { return (url, region ?? "us-east-1") }
        guard let region else { return ("https://sts.amazonaws.com", "us-east-1") }
        return ("https://sts.\(region).amazonaws.com" + (region.hasPrefix("cn-") ? ".cn" : ""), region)
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
