import Foundation

/// A profile's role, as the AWS SDKs read it: `role_arn` with `source_profile` (a profile
/// whose keys, command, role or web identity sign the `AssumeRole`; the profile itself
/// when it names itself, then with its own keys) or with `credential_source`
/// (`Environment`, `Ec2InstanceMetadata`, `EcsContainer`). Every role of a chain goes to
/// the STS of the chosen profile's region. A role set up wrongly is an error, never a
/// reason to sign as someone else.
struct AWSProfileRole {
    /// What goes into STS's `AssumeRole`.
    struct AssumeRole {
        var arn: String
        var sessionName: String
        var externalID: String?
        var durationSeconds: String?
        /// STS's URL, and the region its requests are signed for.
        var sts: String
        var region: String
    }

    /// Roles assumed with a role's keys, at most this many deep.
    static let maxChain = 5

    let sections: [String: [String: String]]
    let environment: EnvironmentVariables
    let sts: (url: String, region: String)

    /// The role `arn` of profile `name`, with its source; `chain` holds the profiles whose
    /// roles wait on this one.
    func assume(_ arn: String, profile name: String, chain: [String]) -> AWSKeySearch.Source {
        let section = sections[name] ?? [:]
        func invalid(_ why: String) -> AWSKeySearch.Source { .invalid("profile \(name): \(why)") }
        if section["mfa_serial"] != nil {
            return invalid("its role needs an MFA code (mfa_serial), which Ferry cannot ask for; use keys from a session made with one")
        }
        if let duration = section["duration_seconds"], !(Int(duration).map { (900...43200).contains($0) } ?? false) {
            return invalid("duration_seconds '\(duration)' is not a number of seconds from 900 to 43200")
        }
        let from: AWSKeySearch.Source
        switch (section["source_profile"], section["credential_source"]) {
        case (_?, _?):
            return invalid("it has both source_profile and credential_source; give one")
        case (let source?, nil) where source == name:
            guard let keys = AWSKeySearch.staticKeys(section) else {
                return invalid("it names itself as source_profile but holds no aws_access_key_id and aws_secret_access_key")
            }
            from = .keys(keys, from: "the keys of profile \(name)")
        case (let source?, nil):
            if chain.contains(source) || chain.count >= Self.maxChain {
                return invalid("source_profile \(source) makes a loop or a chain of more than \(Self.maxChain) roles: \((chain + [name, source]).joined(separator: " → "))")
            }
            guard sections[source] != nil else { return invalid("its source_profile \(source) is in neither AWS file") }
            guard let found = AWSKeySearch.source(EnvironmentVariables([:]), profile: source, roles: self, chain: chain + [name]) else {
                return invalid("its source_profile \(source) holds no keys, credential_process, role or web identity")
            }
            if case .invalid = found { return found }
            from = found
        case (nil, "Environment"?):
            guard let keys = AWSKeySearch.variableKeys(environment) else {
                return invalid("credential_source is Environment, but AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set")
            }
            from = .keys(keys, from: "the AWS_* variables")
        case (nil, "Ec2InstanceMetadata"?): from = .instance
        case (nil, "EcsContainer"?): from = .container
        case (nil, let other?):
            return invalid("credential_source '\(other)' is not Environment, Ec2InstanceMetadata or EcsContainer")
        case (nil, nil):
            return invalid("its role_arn has no source_profile or credential_source to assume it with")
        }
        return .assumeRole(AssumeRole(arn: arn, sessionName: Self.sessionName(section), externalID: section["external_id"],
                                      durationSeconds: section["duration_seconds"], sts: sts.url, region: sts.region),
                           from: from)
    }

    /// `role_session_name`, else one of Ferry's with the time, as the SDKs make theirs.
    static func sessionName(_ section: [String: String]) -> String {
        section["role_session_name"] ?? "ferry-\(Int(Date().timeIntervalSince1970))"
    }
}
