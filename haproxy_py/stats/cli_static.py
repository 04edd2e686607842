"""Fixed replies of runtime-API commands whose 2.6.12 output does not depend on our state.

They were captured from Debian's HAProxy 2.6.12 (observable output) on a process without maps, ACL
files, stick tables, SSL, peers or caches, which is what haproxy-py runs; the reply bodies below
exclude the final empty line that every command gets.
"""

from __future__ import annotations

#: ``show schema json``
SCHEMA_JSON = '{"$schema":"http://json-schema.org/draft-04/schema#","oneOf":[{"title":"Info","type":"array","items":{"title":"InfoItem","type":"object","properties":{"field":{"$ref":"#/definitions/field"},"processNum":{"$ref":"#/definitions/processNum"},"tags":{"$ref":"#/definitions/tags"},"value":{"$ref":"#/definitions/typedValue"}},"required":["field","processNum","tags","value"]}},{"title":"Stat","type":"array","items":{"title":"InfoItem","type":"object","properties":{"objType":{"enum":["Frontend","Backend","Listener","Server","Unknown"]},"proxyId":{"type":"integer","minimum":0},"id":{"type":"integer","minimum":0},"field":{"$ref":"#/definitions/field"},"processNum":{"$ref":"#/definitions/processNum"},"tags":{"$ref":"#/definitions/tags"},"typedValue":{"$ref":"#/definitions/typedValue"}},"required":["objType","proxyId","id","field","processNum","tags","value"]}},{"title":"Error","type":"object","properties":{"errorStr":{"type":"string"}},"required":["errorStr"]}],"definitions":{"field":{"type":"object","pos":{"type":"integer","minimum":0},"name":{"type":"string"},"required":["pos","name"]},"processNum":{"type":"integer","minimum":1},"tags":{"type":"object","origin":{"type":"string","enum":["Metric","Status","Key","Config","Product","Unknown"]},"nature":{"type":"string","enum":["Gauge","Limit","Min","Max","Rate","Counter","Duration","Age","Time","Name","Output","Avg", "Unknown"]},"scope":{"type":"string","enum":["Cluster","Process","Service","System","Unknown"]},"required":["origin","nature","scope"]},"typedValue":{"type":"object","oneOf":[{"$ref":"#/definitions/typedValue/definitions/s32Value"},{"$ref":"#/definitions/typedValue/definitions/s64Value"},{"$ref":"#/definitions/typedValue/definitions/u32Value"},{"$ref":"#/definitions/typedValue/definitions/u64Value"},{"$ref":"#/definitions/typedValue/definitions/strValue"}],"definitions":{"s32Value":{"properties":{"type":{"type":"string","enum":["s32"]},"value":{"type":"integer","minimum":-2147483648,"maximum":2147483647}},"required":["type","value"]},"s64Value":{"properties":{"type":{"type":"string","enum":["s64"]},"value":{"type":"integer","minimum":-9007199254740991,"maximum":9007199254740991}},"required":["type","value"]},"u32Value":{"properties":{"type":{"type":"string","enum":["u32"]},"value":{"type":"integer","minimum":0,"maximum":4294967295}},"required":["type","value"]},"u64Value":{"properties":{"type":{"type":"string","enum":["u64"]},"value":{"type":"integer","minimum":0,"maximum":9007199254740991}},"required":["type","value"]},"strValue":{"properties":{"type":{"type":"string","enum":["str"]},"value":{"type":"string"}},"required":["type","value"]},"unknownValue":{"properties":{"type":{"type":"integer","minimum":0},"value":{"type":"string","enum":["unknown"]}},"required":["type","value"]}}}}}\n'

#: ``show trace`` (no argument)
SHOW_TRACE = (
    "Supported trace sources and states (.=stopped, w=waiting, R=running) :\n"
    " [.] h2         -> none [drp 0]  [HTTP/2 multiplexer]\n"
    " [.] fcgi       -> none [drp 0]  [FastCGI multiplexer]\n"
    " [.] h1         -> none [drp 0]  [HTTP/1 multiplexer]\n"
    " [.] stream     -> none [drp 0]  [Applicative stream]\n"
    " [.] peers      -> none [drp 0]  [Peers protocol]\n"
    " [.] check      -> none [drp 0]  [Health-check]\n"
    " [.] pt         -> none [drp 0]  [Passthrough multiplexer]\n"
)
#: ``trace`` (no argument)
TRACE = (
    "Supported trace sources and states (.=stopped, w=waiting, R=running) :\n"
    " [.] 0          : not a source, will immediately stop all traces\n"
    " [.] h2         : HTTP/2 multiplexer\n"
    " [.] fcgi       : FastCGI multiplexer\n"
    " [.] h1         : HTTP/1 multiplexer\n"
    " [.] stream     : Applicative stream\n"
    " [.] peers      : Peers protocol\n"
    " [.] check      : Health-check\n"
    " [.] pt         : Passthrough multiplexer\n"
)
SHOW_EVENTS = (
    "Supported events sinks are listed below. Add -w(wait), -n(new). Any key to stop\n"
    "    stdout     : type=fd, 0 dropped, standard output (fd#1)\n"
    "    stderr     : type=fd, 0 dropped, standard output (fd#2)\n"
    "    buf0       : type=buffer, 0 dropped, in-memory ring buffer\n"
)
PROFILING_HEAD = (
    "Per-task CPU profiling              : {tasks:<14}# set profiling tasks {{on|auto|off}}\n"
    "Memory usage profiling              : {memory:<14}# set profiling memory {{on|off}}\n"
    "Tasks activity:\n"
    "  function                      calls   cpu_tot   cpu_avg   lat_tot   lat_avg\n"
)
SHOW_TASKS = "Running tasks: 0 ({threads} threads)\n  function                     places     %    lat_tot   lat_avg\n"

UNKNOWN_MAP = "Unknown map identifier. Please use #<id> or <file>.\n"
UNKNOWN_ACL = "Unknown ACL identifier. Please use #<id> or <file>.\n"
NO_TABLE = "No such table\n"

#: (words, reply when the command has no further argument, reply with arguments); None: "" (success)
#: every entry needs the admin level except those listed in OPERATOR_OK / USER_OK
FIXED: dict[tuple[str, ...], tuple[str | None, str | None]] = {
    ("show", "cache"): (None, None),
    ("show", "peers"): (None, None),
    ("show", "table"): (None, NO_TABLE),
    ("show", "map"): ("# id (file) description\n", UNKNOWN_MAP),
    ("show", "acl"): ("# id (file) description\n", UNKNOWN_ACL),
    ("show", "tls-keys"): ("# id (file)\n", None),
    ("show", "ssl", "cert"): (None, None),
    ("show", "ssl", "crt-list"): (None, None),
    ("show", "ssl", "ocsp-response"): (None, None),
    ("show", "ssl", "crl-file"): ("# filename\n", None),
    ("show", "ssl", "ca-file"): ("# filename\n", None),
    ("show", "ssl", "providers"): ("Loaded providers : \n\t- default\n", "Loaded providers : \n\t- default\n"),
    ("show", "events"): (SHOW_EVENTS, None),
    ("show", "trace"): (SHOW_TRACE, None),
    ("trace",): (TRACE, None),
    ("get", "var"): ("Missing process-wide variable identifier.\n", "Variable not found.\n"),
    ("get", "acl"): ("Missing ACL identifier and/or key.\n", UNKNOWN_ACL),
    ("get", "map"): ("Missing map identifier and/or key.\n", UNKNOWN_MAP),
    ("clear", "acl"): ("Missing ACL identifier.\n", UNKNOWN_ACL),
    ("clear", "map"): ("Missing map identifier.\n", UNKNOWN_MAP),
    ("clear", "table"): ('Required arguments: <table> "data.<store_data_type>" <operator> <value> or <table> key <key>\n',
                         NO_TABLE),
    ("add", "acl"): ("'add acl' expects two parameters: ACL identifier and pattern.\n", UNKNOWN_ACL),
    ("add", "map"): ("'add map' expects three parameters (map identifier, key and value) or one parameter "
                     "(map identifier) and a payload\n", UNKNOWN_MAP),
    ("del", "acl"): ("This command expects two parameters: ACL identifier and key.\n", UNKNOWN_MAP),
    ("del", "map"): ("This command expects two parameters: map identifier and key.\n", UNKNOWN_MAP),
    ("set", "map"): ("'set map' expects three parameters: map identifier, key and value.\n", UNKNOWN_MAP),
    ("set", "table"): ("Required arguments: <table> key <key> [data.<store_data_type> <value>]*\n", NO_TABLE),
    ("prepare", "acl"): (UNKNOWN_ACL, UNKNOWN_ACL),
    ("prepare", "map"): (UNKNOWN_MAP, UNKNOWN_MAP),
    ("commit", "acl"): ("Missing version number.\n", UNKNOWN_ACL),
    ("commit", "map"): ("Missing version number.\n", UNKNOWN_MAP),
    ("abort", "ssl", "cert"): ("'abort ssl cert' expects a filename\n", None),
    ("abort", "ssl", "ca-file"): ("'abort ssl ca-file' expects a filename\n", None),
    ("abort", "ssl", "crl-file"): ("'abort ssl crl-file' expects a filename\n", None),
    ("commit", "ssl", "cert"): ("'commit ssl cert expects a filename\n", None),
    ("commit", "ssl", "ca-file"): ("'commit ssl ca-file expects a filename\n", None),
    ("commit", "ssl", "crl-file"): ("'commit ssl ca-file expects a filename\n", None),
    ("new", "ssl", "cert"): ("'new ssl cert' expects a filename\n", None),
    ("new", "ssl", "ca-file"): ("'new ssl ca-file' expects a filename\n", None),
    ("del", "ssl", "cert"): ("'del ssl cert' expects a certificate name\n", None),
    ("del", "ssl", "ca-file"): ("'del ssl ca-file' expects a CA file name\n", None),
    ("del", "ssl", "crl-file"): ("'del ssl crl-file' expects a CRL file name\n", None),
    ("set", "ssl", "cert"): ("'set ssl cert expects a filename and a certificate as a payload\n", None),
    ("set", "ssl", "ca-file"): ("'set ssl ca-file expects a filename and CAs as a payload\n", None),
    ("set", "ssl", "crl-file"): ("'set ssl crl-file expects a filename and CRLs as a payload\n", None),
    ("set", "ssl", "tls-key"): ("'set ssl tls-key' expects a filename and the new TLS key in base64 encoding.\n",
                                None),
    ("set", "ssl", "ocsp-response"): ("'set ssl ocsp-response' expects response in base64 encoding.\n", None),
    ("add", "ssl", "crt-list"): ("'add ssl crtlist' expects a filename and a certificate name\n", None),
    ("del", "ssl", "crt-list"): ("'del ssl crtlist' expects a filename and a certificate name\n", None),
}
#: minimum level of the FIXED commands (default admin); not every one was verified on a user socket
MIN_LEVEL: dict[tuple[str, ...], int] = {
    ("show", "cache"): 0, ("show", "peers"): 0, ("show", "trace"): 0, ("show", "events"): 0,
    ("show", "map"): 1, ("show", "acl"): 1, ("get", "acl"): 1, ("get", "map"): 1, ("get", "var"): 1,
    ("show", "table"): 1, ("show", "tls-keys"): 1,
}
