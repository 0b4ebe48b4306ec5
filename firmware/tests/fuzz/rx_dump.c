/*
 * Host executable for the C <-> Python differential test (tests/test_protocol_diff.py): runs the C
 * receive path over byte streams read from stdin and prints what it decoded, one record per input line.
 *
 *   R <max_payload> <hex>   a fresh receiver (buffer malloc'd with exactly BNN_FRAME_BODY_MAX(max_payload)
 *                           bytes) is fed the stream byte by byte; one line per event:
 *                             F <type> <seq> <payload hex, or - if empty>
 *                             E <code> <detail> <seq>
 *   C <hex>                 bnn_cobs_decode of the bytes (a frame without delimiter), into a buffer of as
 *                           many bytes as the input (COBS never decodes to more); one line:
 *                             D <decoded hex, or - if empty>     or     X (rejected)
 * Each record ends with a line ".". Numbers are decimal. Exit status 2 on malformed input.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bnn/bnn_cobs.h"
#include "bnn/bnn_frame.h"

static uint8_t *data;
static size_t data_len;
static size_t data_cap;

static int hexval(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    c = tolower(c);
    return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}

/* Reads hex digits up to the end of the line into data[]. Returns 0 on success. */
static int read_hex_line(void)
{
    int c;
    int hi = -1;
    data_len = 0;
    while ((c = getchar()) != EOF && c != '\n') {
        int v;
        if (c == ' ' || c == '\r' || c == '\t') {
            continue;
        }
        v = hexval(c);
        if (v < 0) {
            return -1;
        }
        if (hi < 0) {
            hi = v;
            continue;
        }
        if (data_len == data_cap) {
            data_cap = data_cap ? 2u * data_cap : 4096u;
            data = (uint8_t *)realloc(data, data_cap);
            if (data == NULL) {
                return -1;
            }
        }
        data[data_len++] = (uint8_t)(hi * 16 + v);
        hi = -1;
    }
    return (hi < 0) ? 0 : -1;
}

static void print_hex(const uint8_t *p, size_t n)
{
    size_t i;
    if (n == 0u) {
        putchar('-');
    }
    for (i = 0; i < n; ++i) {
        printf("%02x", p[i]);
    }
}

static void run_receiver(unsigned long max_payload)
{
    const size_t cap = BNN_FRAME_BODY_MAX(max_payload);
    uint8_t *buf = (uint8_t *)malloc(cap);
    bnn_frame_rx_t rx;
    bnn_frame_t fr;
    size_t i;
    if (buf == NULL) {
        exit(3);
    }
    bnn_frame_rx_init(&rx, buf, cap);
    for (i = 0; i < data_len; ++i) {
        switch (bnn_frame_rx_feed(&rx, data[i], &fr)) {
        case BNN_FRAME_RX_FRAME:
            printf("F %u %u ", (unsigned)fr.type, (unsigned)fr.seq);
            print_hex(fr.payload, fr.len);
            putchar('\n');
            break;
        case BNN_FRAME_RX_ERROR:
            printf("E %u %lu %u\n", (unsigned)fr.error, (unsigned long)fr.detail, (unsigned)fr.seq);
            break;
        default:
            break;
        }
    }
    free(buf);
}

static void run_cobs_decode(void)
{
    uint8_t *out = (uint8_t *)malloc(data_len != 0u ? data_len : 1u);
    long n;
    if (out == NULL) {
        exit(3);
    }
    n = bnn_cobs_decode(data, data_len, out, data_len);
    if (n < 0) {
        printf("X\n");
    } else {
        printf("D ");
        print_hex(out, (size_t)n);
        putchar('\n');
    }
    free(out);
}

int main(void)
{
    int kind;
    while ((kind = getchar()) != EOF) {
        unsigned long max_payload = 0;
        if (kind == '\n') {
            continue;
        }
        if (kind == 'R') {
            if (scanf("%lu", &max_payload) != 1 || read_hex_line() != 0) {
                return 2;
            }
            run_receiver(max_payload);
        } else if (kind == 'C') {
            if (read_hex_line() != 0) {
                return 2;
            }
            run_cobs_decode();
        } else {
            return 2;
        }
        printf(".\n");
    }
    free(data);
    return 0;
}
