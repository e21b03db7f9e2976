#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

/* X.509 helpers for Security/Certificate.swift: the macros and stack accessors Swift cannot
   import. Each is a one-line forward to OpenSSL. */

/* RFC 2253 distinguished names, UTF-8 kept as is (no \XX escapes for non-ASCII bytes). */
static inline unsigned long portal_xn_flags_rfc2253_utf8(void) {
    return XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB;
}

/* The bytes written so far into a memory BIO. */
static inline long portal_bio_mem_data(BIO *bio, char **data) {
    return BIO_get_mem_data(bio, data);
}

/* subjectAltName entries (the value X509_get_ext_d2i returns for NID_subject_alt_name). */
static inline int portal_general_names_count(void *names) {
    return sk_GENERAL_NAME_num((GENERAL_NAMES *)names);
}

static inline int portal_general_name_type(void *names, int index) {
    return sk_GENERAL_NAME_value((GENERAL_NAMES *)names, index)->type;
}

/* The string of a DNS, e-mail, URI or IP entry; NULL for other kinds. */
static inline const ASN1_STRING *portal_general_name_string(void *names, int index) {
    GENERAL_NAME *name = sk_GENERAL_NAME_value((GENERAL_NAMES *)names, index);
    switch (name->type) {
    case GEN_DNS: return name->d.dNSName;
    case GEN_EMAIL: return name->d.rfc822Name;
    case GEN_URI: return name->d.uniformResourceIdentifier;
    case GEN_IPADD: return name->d.iPAddress;
    default: return NULL;
    }
}

static inline void portal_general_names_free(void *names) {
    GENERAL_NAMES_free((GENERAL_NAMES *)names);
}
