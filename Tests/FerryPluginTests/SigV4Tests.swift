import Foundation
import Testing
import FerryTestSupport
import AsyncHTTPClient
@testable import FerryHTTP

/// AWS's published Signature Version 4 vectors. The S3 ones are the four examples of the
/// S3 API reference, "Signature Calculations for the Authorization Header: Transferring
/// Payload in a Single Chunk" (examplebucket, 20130524T000000Z); the others come from the
/// AWS SigV4 test suite as botocore ships it (tests/unit/auth/aws4_testsuite, commit
/// 0e6e2404b85d). Expected texts are copied from there, not produced by this code.
@Suite("SigV4 against AWS's published vectors")
struct SigV4Tests {
    static let s3 = SigV4(accessKey: "AKIAIOSFODNN7EXAMPLE", secretKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                          region: "us-east-1", service: "s3")
    static let suite = SigV4(accessKey: "AKIDEXAMPLE", secretKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                             region: "us-east-1", service: "service")
    static let emptyHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    struct Vector: Sendable, CustomTestStringConvertible {
        let name: String
        let signer: SigV4
        let request: SigV4.Request
        let timestamp: String
        let canonical: String
        let stringToSign: String
        let signature: String
        var testDescription: String { name }
    }

    static let vectors: [Vector] = [
        Vector(name: "S3 GET Object with Range", signer: s3,
               request: .init(method: "GET", path: "/test.txt", headers: [
                   ("Host", "examplebucket.s3.amazonaws.com"), ("Range", "bytes=0-9"),
                   ("x-amz-content-sha256", emptyHash), ("x-amz-date", "20130524T000000Z")], payloadHash: emptyHash),
               timestamp: "20130524T000000Z",
               canonical: """
                   GET
                   /test.txt

                   host:examplebucket.s3.amazonaws.com
                   range:bytes=0-9
                   x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
                   x-amz-date:20130524T000000Z

                   host;range;x-amz-content-sha256;x-amz-date
                   e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
                   """,
               stringToSign: """
                   AWS4-HMAC-SHA256
                   20130524T000000Z
                   20130524/us-east-1/s3/aws4_request
                   7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972
                   """,
               signature: "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"),
        Vector(name: "S3 PUT Object test$file.text", signer: s3,
               request: .init(method: "PUT", path: "/" + SigV4.encode("test$file.text", keepSlash: true), headers: [
                   ("Host", "examplebucket.s3.amazonaws.com"), ("Date", "Fri, 24 May 2013 00:00:00 GMT"),
                   ("x-amz-date", "20130524T000000Z"), ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
                   ("x-amz-content-sha256", "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072")],
                   payloadHash: "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"),
               timestamp: "20130524T000000Z",
               canonical: """
                   PUT
                   /test%24file.text

                   date:Fri, 24 May 2013 00:00:00 GMT
                   host:examplebucket.s3.amazonaws.com
                   x-amz-content-sha256:44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072
                   x-amz-date:20130524T000000Z
                   x-amz-storage-class:REDUCED_REDUNDANCY

                   date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class
                   44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072
                   """,
               stringToSign: """
                   AWS4-HMAC-SHA256
                   20130524T000000Z
                   20130524/us-east-1/s3/aws4_request
                   9e0e90d9c76de8fa5b200d8c849cd5b8dc7a3be3951ddb7f6a76b4158342019d
                   """,
               signature: "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"),
        Vector(name: "S3 GET Bucket Lifecycle", signer: s3,
               request: .init(method: "GET", path: "/", query: [("lifecycle", "")], headers: [
                   ("Host", "examplebucket.s3.amazonaws.com"), ("x-amz-date", "20130524T000000Z"),
                   ("x-amz-content-sha256", emptyHash)], payloadHash: emptyHash),
               timestamp: "20130524T000000Z",
               canonical: """
                   GET
                   /
                   lifecycle=
                   host:examplebucket.s3.amazonaws.com
                   x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
                   x-amz-date:20130524T000000Z

                   host;x-amz-content-sha256;x-amz-date
                   e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
                   """,
               stringToSign: """
                   AWS4-HMAC-SHA256
                   20130524T000000Z
                   20130524/us-east-1/s3/aws4_request
                   9766c798316ff2757b517bc739a67f6213b4ab36dd5da2f94eaebf79c77395ca
                   """,
               signature: "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"),
        Vector(name: "S3 GET Bucket (List Objects)", signer: s3,
               request: .init(method: "GET", path: "/", query: [("prefix", "J"), ("max-keys", "2")], headers: [
                   ("Host", "examplebucket.s3.amazonaws.com"), ("x-amz-date", "20130524T000000Z"),
                   ("x-amz-content-sha256", emptyHash)], payloadHash: emptyHash),
               timestamp: "20130524T000000Z",
               canonical: """
                   GET
                   /
                   max-keys=2&prefix=J
                   host:examplebucket.s3.amazonaws.com
                   x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
                   x-amz-date:20130524T000000Z

                   host;x-amz-content-sha256;x-amz-date
                   e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
                   """,
               stringToSign: """
                   AWS4-HMAC-SHA256
                   20130524T000000Z
                   20130524/us-east-1/s3/aws4_request
                   df57d21db20da04d7fa30298dd4488ba3a2b47ca3a489c74750e0f1e7df1b9b7
                   """,
               signature: "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"),
        Vector(name: "test suite get-vanilla-query-order-key-case", signer: suite,
               request: .init(method: "GET", path: "/", query: [("Param2", "value2"), ("Param1", "value1")], headers: [
                   ("Host", "example.amazonaws.com"), ("X-Amz-Date", "20150830T123600Z")], payloadHash: emptyHash),
               timestamp: "20150830T123600Z",
               canonical: """
                   GET
                   /
                   Param1=value1&Param2=value2
                   host:example.amazonaws.com
                   x-amz-date:20150830T123600Z

                   host;x-amz-date
                   e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
                   """,
               stringToSign: """
                   AWS4-HMAC-SHA256
                   20150830T123600Z
                   20150830/us-east-1/service/aws4_request
                   816cd5b414d056048ba4f7c5386d6e0533120fb1fcfa93762cf0fc39e2cf19e0
                   """,
               signature: "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"),
    ]

    @Test("canonical request, string to sign and signature match", arguments: vectors)
    func vector(_ v: Vector) {
        #expect(v.signer.canonicalRequest(v.request) == v.canonical)
        #expect(v.signer.stringToSign(v.request, timestamp: v.timestamp) == v.stringToSign)
        #expect(v.signer.signature(v.request, timestamp: v.timestamp) == v.signature)
    }

    @Test("the Authorization header names the key, the scope and the signed headers") func authorization() {
        let v = SigV4Tests.vectors[0]
        #expect(v.signer.authorization(v.request, timestamp: v.timestamp) ==
                "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
                + "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
                + "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
    }

    @Test("timestamps are UTC, basic format") func timestamp() {
        #expect(SigV4.timestamp(Date(timeIntervalSince1970: 1_369_353_600)) == "20130524T000000Z")
    }
}

@Suite("credentials and part sizes")
struct TransferSettingsTests {
    @Test(".netrc: machine entries, default, and tokens in any layout") func netrc() {
        let netrc = Netrc(parsing: """
            machine cache.example.org login alice password s3cret
            machine other.example.org
              login bob
              password hunter2
            default login anon password guest
            """)
        #expect(netrc.entry(for: "cache.example.org") == .init(login: "alice", password: "s3cret"))
        #expect(netrc.entry(for: "other.example.org") == .init(login: "bob", password: "hunter2"))
        #expect(netrc.entry(for: "elsewhere") == .init(login: "anon", password: "guest"))
        #expect(Netrc(parsing: "machine a login x password y").entry(for: "b") == nil)
    }

    @Test("credentials go only to the cache's own scheme and host, not to where a narinfo points a NAR",
          arguments: [("https", "cache.example.org", true), ("https", "elsewhere.example.org", false),
                      ("http", "cache.example.org", false), ("https", "cache.example.org:8443", false)])
    func credentialsStayHome(scheme: String, authority: String, sent: Bool) async throws {
        let cache = URLParts(scheme: "https", authority: "cache.example.org", path: "/")
        for authorizer in [HTTPAuthorizer(bearerToken: "t0ken", netrc: nil, origin: cache),
                           HTTPAuthorizer(bearerToken: nil, netrc: .init(login: "alice", password: "s3cret"), origin: cache)] {
            var request = HTTPClientRequest(url: "\(scheme)://\(authority)/nar/x.nar.xz")
            try await authorizer.authorize(&request, url: URLParts(scheme: scheme, authority: authority, path: "/nar/x.nar.xz"),
                                     payloadSHA256: "")
            #expect(request.headers.contains(name: "Authorization") == sent, "\(request.headers)")
        }
    }

    @Test("S3 keys come from the variables, else the profile's role (its source's keys assumed), else its keys in the credentials file, else in the config file, else its credential_process, else a web identity")
    func awsCredentialLookup() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try "[default]\naws_access_key_id = AKIACREDS\naws_secret_access_key = s1\n[tool]\ncredential_process = vault --json\n"
            .write(toFile: dir.path + "/credentials", atomically: true, encoding: .utf8)
        try """
            [default]
            region = eu-west-1
            [profile mirror]
            aws_access_key_id = AKIACONFIG
            aws_secret_access_key = s2
            [profile tool]
            credential_process = not-this-one
            [profile eks]
            role_arn = arn:aws:iam::1:role/profile
            web_identity_token_file = /profile/token
            role_session_name = mirror
            region = cn-north-1
            [profile uploader]
            role_arn = arn:aws:iam::1:role/uploader
            source_profile = mirror
            role_session_name = up
            external_id = ext
            region = eu-central-1
            [profile chained]
            role_arn = arn:aws:iam::1:role/second
            source_profile = uploader
            role_session_name = two
            [profile itself]
            role_arn = arn:aws:iam::1:role/itself
            source_profile = itself
            role_session_name = me
            aws_access_key_id = AKIASELF
            aws_secret_access_key = s3
            [profile on-ec2]
            role_arn = arn:aws:iam::1:role/ec2
            credential_source = Ec2InstanceMetadata
            role_session_name = vm
            [profile from-env]
            role_arn = arn:aws:iam::1:role/env
            credential_source = Environment
            role_session_name = env
            [profile in-ecs]
            role_arn = arn:aws:iam::1:role/ecs
            credential_source = EcsContainer
            [profile loop-a]
            role_arn = arn:aws:iam::1:role/a
            source_profile = loop-b
            [profile loop-b]
            role_arn = arn:aws:iam::1:role/b
            source_profile = loop-a
            [profile keyed-source]
            role_arn = arn:aws:iam::1:role/keyed
            source_profile = keyed
            role_session_name = k
            [profile keyed]
            role_arn = arn:aws:iam::1:role/keyed-own
            source_profile = keyed-source
            aws_access_key_id = AKIAKEYED
            aws_secret_access_key = s4
            [profile no-source]
            role_arn = arn:aws:iam::1:role/none
            [profile missing-source]
            role_arn = arn:aws:iam::1:role/missing
            source_profile = nowhere
            [profile both]
            role_arn = arn:aws:iam::1:role/both
            source_profile = mirror
            credential_source = Environment
            [profile mfa]
            role_arn = arn:aws:iam::1:role/mfa
            source_profile = mirror
            mfa_serial = arn:aws:iam::1:mfa/me
            [profile long]
            role_arn = arn:aws:iam::1:role/long
            source_profile = mirror
            duration_seconds = 86400
            """.write(toFile: dir.path + "/config", atomically: true, encoding: .utf8)
        let files = ["AWS_SHARED_CREDENTIALS_FILE": dir.path + "/credentials", "AWS_CONFIG_FILE": dir.path + "/config"]
        func describe(_ source: AWSKeySearch.Source?) -> String? {
            switch source {
            case .keys(let keys, _): keys.accessKey
            case .process(let command): "run \(command)"
            case .webIdentity(let role, let tokenFile, let sessionName, let sts): "\(role) \(tokenFile) \(sessionName) \(sts)"
            case .assumeRole(let role, let from):
                "\(role.arn) as \(role.sessionName) \(role.externalID ?? "-") at \(role.sts) for \(role.region) with \(describe(from) ?? "?")"
            case .instance: "the instance"
            case .container: "the container"
            case .invalid(let reason): "invalid: \(reason)"
            case nil: nil
            }
        }
        func source(_ environment: [String: String], profile: String? = nil) -> String? {
            describe(AWSKeySearch(profile: profile, environment: EnvironmentVariables(files.merging(environment) { $1 })).source)
        }
        #expect(source(["AWS_ACCESS_KEY_ID": "AKIAENV", "AWS_SECRET_ACCESS_KEY": "s0"]) == "AKIAENV")
        #expect(source(["AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""]) == "AKIACREDS", "empty is unset")
        #expect(source([:]) == "AKIACREDS")
        #expect(source([:], profile: "mirror") == "AKIACONFIG")
        #expect(source(["AWS_PROFILE": "mirror"]) == "AKIACONFIG")
        #expect(source(["AWS_DEFAULT_PROFILE": "mirror"]) == "AKIACONFIG")
        // The credentials file wins over the config file.
        #expect(source(["AWS_PROFILE": "tool"]) == "run vault --json")
        #expect(source([:], profile: "eks") == "arn:aws:iam::1:role/profile /profile/token mirror https://sts.cn-north-1.amazonaws.com.cn")
        let variables = ["AWS_ROLE_ARN": "arn:aws:iam::1:role/env", "AWS_WEB_IDENTITY_TOKEN_FILE": "/env/token",
                         "AWS_ROLE_SESSION_NAME": "ci", "AWS_REGION": "us-west-2"]
        #expect(source(variables.merging(["AWS_PROFILE": "nobody"]) { $1 })
                == "arn:aws:iam::1:role/env /env/token ci https://sts.us-west-2.amazonaws.com")
        #expect(source(variables.merging(["AWS_PROFILE": "eks", "AWS_ENDPOINT_URL_STS": "http://127.0.0.1:1"]) { $1 })
                == "arn:aws:iam::1:role/env /env/token ci http://127.0.0.1:1", "the variables win over the profile")
        // A role_arn with source_profile (or credential_source) is assumed with the source's keys.
        #expect(source([:], profile: "uploader")
                == "arn:aws:iam::1:role/uploader as up ext at https://sts.eu-central-1.amazonaws.com for eu-central-1 with AKIACONFIG")
        // Every role of a chain goes to the STS of the chosen profile's region (here none: the global one).
        #expect(source([:], profile: "chained") == "arn:aws:iam::1:role/second as two - at https://sts.amazonaws.com for us-east-1 with "
                + "arn:aws:iam::1:role/uploader as up ext at https://sts.amazonaws.com for us-east-1 with AKIACONFIG")
        #expect(source([:], profile: "itself") == "arn:aws:iam::1:role/itself as me - at https://sts.amazonaws.com for us-east-1 with AKIASELF")
        #expect(source([:], profile: "on-ec2") == "arn:aws:iam::1:role/ec2 as vm - at https://sts.amazonaws.com for us-east-1 with the instance")
        #expect(source(["AWS_ACCESS_KEY_ID": "AKIAENV", "AWS_SECRET_ACCESS_KEY": "s0"], profile: "from-env")
                == "arn:aws:iam::1:role/env as env - at https://sts.amazonaws.com for us-east-1 with AKIAENV")
        #expect(source([:], profile: "in-ecs")?.hasSuffix("with the container") == true)
        // A source profile's keys come before its own role.
        #expect(source([:], profile: "keyed-source") == "arn:aws:iam::1:role/keyed as k - at https://sts.amazonaws.com for us-east-1 with AKIAKEYED")
        // A role set up wrongly is an error, never a reason to look further.
        let invalid = [
            "from-env": "profile from-env: credential_source is Environment, but AWS_ACCESS_KEY_ID",
            "loop-a": "profile loop-b: source_profile loop-a makes a loop or a chain of more than 5 roles: loop-a → loop-b → loop-a",
            "no-source": "profile no-source: its role_arn has no source_profile or credential_source",
            "missing-source": "profile missing-source: its source_profile nowhere is in neither AWS file",
            "both": "profile both: it has both source_profile and credential_source",
            "mfa": "profile mfa: its role needs an MFA code (mfa_serial)",
            "long": "profile long: duration_seconds '86400' is not a number of seconds from 900 to 43200",
        ]
        for (profile, reason) in invalid {
            #expect(source([:], profile: profile)?.hasPrefix("invalid: \(reason)") == true, "\(profile): \(source([:], profile: profile) ?? "nil")")
        }
        // A profile named in the URL is the only place looked.
        #expect(source(variables, profile: "nobody") == nil)
        let none = AWSKeySearch(profile: "nobody", environment: EnvironmentVariables(files))
        #expect(none.source == nil && none.profileChosen, "\(none.looked)")
        #expect(none.looked.contains("[nobody]") && none.looked.contains(dir.path + "/config"), "\(none.looked)")
        #expect(AWSKeySearch.sts(EnvironmentVariables([:]), region: nil) == ("https://sts.amazonaws.com", "us-east-1"))
        #expect(AWSKeySearch.sts(EnvironmentVariables(["AWS_ENDPOINT_URL_STS": "http://127.0.0.1:1"]), region: "eu-west-3")
                == ("http://127.0.0.1:1", "eu-west-3"))
    }

    @Test("keys as STS, an endpoint and a credential_process write them: the session token kept, a bad Expiration or Version refused")
    func keyAnswers() throws {
        // AWS's documented AssumeRoleWithWebIdentity answer, shortened.
        let sts = try AWSKeyLease(stsAnswer: """
            <AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
              <AssumeRoleWithWebIdentityResult>
                <Credentials>
                  <SessionToken>AQoDYXdzEE0a8ANXXXXXXXXNO1ewxE5TijQyp+IEXAMPLE</SessionToken>
                  <SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY</SecretAccessKey>
                  <Expiration>2014-10-24T23:00:23Z</Expiration>
                  <AccessKeyId>ASgeIAIOSFODNN7EXAMPLE</AccessKeyId>
                </Credentials>
              </AssumeRoleWithWebIdentityResult>
            </AssumeRoleWithWebIdentityResponse>
            """, from: "STS")
        #expect(sts.credentials.accessKey == "ASgeIAIOSFODNN7EXAMPLE")
        #expect(sts.credentials.secretKey == "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY")
        #expect(sts.credentials.sessionToken == "AQoDYXdzEE0a8ANXXXXXXXXNO1ewxE5TijQyp+IEXAMPLE")
        #expect(sts.expires == Date(timeIntervalSince1970: 1_414_191_623))
        #expect(sts.renewAt == sts.expires.addingTimeInterval(-300))
        #expect(throws: CredentialsUnavailable.self) { try AWSKeyLease(stsAnswer: "<ErrorResponse/>", from: "STS") }

        let process = try AWSKeyLease(json: #"{"Version": 1, "AccessKeyId": "A", "SecretAccessKey": "S", "SessionToken": "T", "Expiration": "2030-01-01T00:00:00.5Z"}"#,
                                      tokenKey: "SessionToken", version: 1, otherwise: .distantFuture, from: "p")
        #expect(process.credentials.sessionToken == "T" && process.expires == Date(timeIntervalSince1970: 1_893_456_000.5))
        let lasting = try AWSKeyLease(json: #"{"Version": 1, "AccessKeyId": "A", "SecretAccessKey": "S"}"#,
                                      tokenKey: "SessionToken", version: 1, otherwise: .distantFuture, from: "p")
        #expect(lasting.expires == .distantFuture && lasting.credentials.sessionToken == nil)
        for refused in [#"{"Version": 2, "AccessKeyId": "A", "SecretAccessKey": "S"}"#,
                        #"{"Version": 1, "AccessKeyId": "A", "SecretAccessKey": "S", "Expiration": "tomorrow"}"#,
                        #"{"Version": 1, "AccessKeyId": "A"}"#, "not json"] {
            #expect(throws: CredentialsUnavailable.self, "\(refused)") {
                try AWSKeyLease(json: refused, tokenKey: "SessionToken", version: 1, otherwise: .distantFuture, from: "p")
            }
        }
    }

    @Test("a credential_process that exits nonzero, is killed, prints too much or outlasts its time in all is refused, and nothing it started is left running")
    func processFailures() async throws {
        func refusal(_ command: String, limit: Duration = .seconds(20)) async -> String {
            do {
                _ = try await AWSProcessKeys(command: command, timeLimit: limit).fetch()
                return "no error"
            } catch {
                return "\(error)"
            }
        }
        let failed = await refusal("echo locked >&2; exit 3"), killed = await refusal("kill -9 $$")
        let talkative = await refusal("head -c 2000000 /dev/zero")
        #expect(failed.hasSuffix("exited with status 3: locked"), "\(failed)")
        #expect(killed.hasSuffix("was killed by signal 9"), "\(killed)")
        #expect(talkative.contains("printed more than 1 MiB"), "\(talkative)")
        // Prints its keys, then leaves a helper holding stderr: the time limit ends the wait,
        // and the helper with it.
        let started = ContinuousClock.now
        let lingering = await refusal(#"echo '{"Version": 1, "AccessKeyId": "A", "SecretAccessKey": "S"}'; sleep 31.4159 >/dev/null &"#,
                                      limit: .seconds(2))
        #expect(lingering.contains("did not finish within"), "\(lingering)")
        #expect(ContinuousClock.now - started < .seconds(10))
        try await Task.sleep(for: .milliseconds(300))
        #expect(try run(["pgrep", "-f", "sleep 31.4159"], check: false).status == 1, "the helper is still running")
        // Prints a little now and then: the limit is for the whole run, not for each wait
        // on the next byte (which would have let it run to 2.5 + 3 s, past its mark at 4.5 s).
        let marks = try TemporaryDirectory()
        defer { marks.remove() }
        let trickle = await refusal("printf '{'; sleep 2.5; printf ' '; sleep 2; touch \(marks.path)/4.5s; exec sleep 27.1828",
                                    limit: .seconds(3))
        #expect(trickle.contains("did not finish within 3"), "\(trickle)")
        try await Task.sleep(for: .seconds(2))
        #expect(!FileManager.default.fileExists(atPath: marks.path + "/4.5s"), "it ran past its time limit")
        #expect(try run(["pgrep", "-f", "sleep 27.1828"], check: false).status == 1, "the trickling command is still running")
        let fine = try await AWSProcessKeys(command: #"echo '{"Version": 1, "AccessKeyId": "A", "SecretAccessKey": "S"}'"#).fetch()
        #expect(fine.credentials.accessKey == "A")
    }

    @Test("a session token is sent and signed; STS requests are signed for sts in their region") func sessionTokenSigned() async throws {
        let keys = AWSCredentials(accessKey: "AKIA", secretKey: "s", sessionToken: "t0ken")
        let authorizer = SigV4Authorizer(credentials: .fixed(keys), region: "us-east-1", service: "s3")
        var request = HTTPClientRequest(url: "http://127.0.0.1:1/b/k")
        try await authorizer.authorize(&request, url: URLParts(scheme: "http", authority: "127.0.0.1:1", path: "/b/k"),
                                       payloadSHA256: RequestBody.emptySHA256.encoded(.base16))
        #expect(request.headers.first(name: "x-amz-security-token") == "t0ken")
        #expect(request.headers.first(name: "Authorization")?.contains("x-amz-security-token") == true)
        // For STS: signed for its service and region, with the payload's hash in the signature only.
        let sts = SigV4Authorizer(credentials: .fixed(keys), region: "eu-west-3", service: "sts")
        var post = HTTPClientRequest(url: "http://127.0.0.1:1/")
        try await sts.authorize(&post, url: URLParts(scheme: "http", authority: "127.0.0.1:1", path: "/"),
                                payloadSHA256: RequestBody.emptySHA256.encoded(.base16))
        #expect(post.headers.first(name: "Authorization")?.contains("/eu-west-3/sts/aws4_request") == true, "\(post.headers)")
        #expect(post.headers.first(name: "x-amz-content-sha256") == nil)
    }

    @Test("AssumeRole carries the profile's role, session name, external_id and duration_seconds") func assumeRoleForm() throws {
        let role = AWSProfileRole.AssumeRole(arn: "arn:aws:iam::1:role/r", sessionName: "s", externalID: "x-1", durationSeconds: "900",
                                             sts: "http://127.0.0.1:1", region: "us-east-1")
        let url = URLParts(scheme: "http", authority: "127.0.0.1:1", path: "/")
        let keys = AWSCredentials(accessKey: "AKIA", secretKey: "s", sessionToken: nil)
        let full = try AWSAssumeRoleKeys(role, source: .fixed(keys), sts: url, logger: .init(label: "test"))
        #expect(full.parameters.map { "\($0)=\($1)" } == ["RoleArn=arn:aws:iam::1:role/r", "RoleSessionName=s", "ExternalId=x-1", "DurationSeconds=900"])
        var bare = role
        (bare.externalID, bare.durationSeconds) = (nil, nil)
        #expect(try AWSAssumeRoleKeys(bare, source: .fixed(keys), sts: url, logger: .init(label: "test")).parameters.count == 2)
    }

    @Test("~/.aws/credentials: profiles, comments, spaces around =") func awsCredentials() {
        let sections = AWSKeySearch.parse(ini: """
            # a comment
            [default]
            aws_access_key_id = AKIADEFAULT
            aws_secret_access_key=secret1
            ; another
            [profile mirror]
            aws_access_key_id = AKIAMIRROR
            aws_secret_access_key = secret2
            aws_session_token = token
            """)
        #expect(sections["default"]?["aws_access_key_id"] == "AKIADEFAULT")
        #expect(sections["default"]?["aws_secret_access_key"] == "secret1")
        #expect(sections["mirror"]?["aws_session_token"] == "token")
    }

    @Test("credentials print their key id, never the secret") func secretHidden() {
        let credentials = AWSCredentials(accessKey: "AKIAEXAMPLE", secretKey: "very-secret", sessionToken: nil)
        #expect(!"\(credentials)".contains("very-secret"))
        #expect("\(credentials)".contains("AKIAEXAMPLE"))
    }

    @Test("parts are at least the configured size, and no object needs more than 9000") func partSizes() throws {
        func storage(partSize: UInt64) throws -> S3Storage {
            try S3Storage(bucket: "b", endpoint: URLParts(scheme: "http", authority: "127.0.0.1:1", path: "/"),
                      credentials: .fixed(AWSCredentials(accessKey: "a", secretKey: "s", sessionToken: nil)), region: "us-east-1",
                      multipartThreshold: 100 << 20, partSize: partSize, connectTimeout: .seconds(1), ioTimeout: .seconds(1),
                      spoolMemory: 0, spoolDirectory: "/tmp")
        }
        let s3 = try storage(partSize: 8 << 20)
        #expect(s3.partSize(for: 48 << 20) == 8 << 20)
        for size: UInt64 in [1 << 30, 100 << 30, 5 << 40] {
            let part = s3.partSize(for: size)
            #expect((size + part - 1) / part <= 9000, "\(size)")
            #expect(part % (1 << 20) == 0)
        }
        #expect(try storage(partSize: 1).partSize(for: 10 << 20) == 5 << 20, "S3's minimum part is 5 MiB")
    }
}
