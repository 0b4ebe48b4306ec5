/*
 * The target's main loop: receive frames from the UART, answer them (docs/PROTOCOL.md).
 *
 *   HELLO    -> INFO
 *   INFER    -> RESULT          (bnn_model_invoke between two counter reads, inside the timed region)
 *   INFER_RLE -> RESULT         (the same, the input run-length encoded: expanded in place first)
 *   PROFILE  -> PROFILE_RESULT  (the same, with per-layer ticks)
 *   SHUTDOWN -> no reply; bnn_platform_exit(0)
 *   STATS    -> STATS_RESULT (stack high-water mark and reserve, bytes)
 *   a bad frame or request -> ERROR
 * bnn_uart_getc() == -1 (host closed the link) -> bnn_platform_exit(0).
 *
 * Every buffer is static and sized from the generated BNN_MODEL_* macros. Replies are streamed
 * through the COBS encoder, so the only full-size buffer is the receive buffer.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "bnn/bnn_frame.h"
#include "bnn/bnn_rle.h"
#include "bnn/model.h"
#include "bnn/platform.h"

#define BNN_MAX2(a, b) ((a) > (b) ? (a) : (b))

#define BOARD_NAME_BYTES (sizeof(BNN_BOARD_NAME) - 1u)
#define INFO_BYTES (BNN_MSG_INFO_FIXED_BYTES + BOARD_NAME_BYTES)
#define RESULT_BYTES BNN_MSG_RESULT_BYTES(BNN_MODEL_OUTPUT_COUNT)
#define PROFILE_RESULT_BYTES BNN_MSG_PROFILE_RESULT_BYTES(BNN_MODEL_NUM_LAYERS, BNN_MODEL_OUTPUT_COUNT)

/* The largest payload this target receives or sends; advertised in INFO. */
#define MAX_PAYLOAD                                                                                    \
    BNN_MAX2(BNN_MAX2((uint32_t)BNN_MODEL_INPUT_BYTES, (uint32_t)INFO_BYTES),                          \
             BNN_MAX2(BNN_MAX2((uint32_t)RESULT_BYTES, (uint32_t)PROFILE_RESULT_BYTES),                 \
                      BNN_MAX2((uint32_t)BNN_MSG_ERROR_BYTES, (uint32_t)BNN_MSG_STATS_RESULT_BYTES)))

/* Compile-time checks (C99: a negative array size is an error). */
typedef char bnn_check_board_name_fits_u8[(BOARD_NAME_BYTES <= 255u) ? 1 : -1];
typedef char bnn_check_layers_fit_u16[(BNN_MODEL_NUM_LAYERS <= 65535u) ? 1 : -1];

/* Keep the compiler from moving work across the counter reads. */
#if defined(__GNUC__)
#define BNN_COMPILER_BARRIER() __asm__ volatile("" ::: "memory")
#else
#define BNN_COMPILER_BARRIER() ((void)0)
#endif

static uint8_t rx_buf[BNN_FRAME_BODY_MAX(MAX_PAYLOAD)];
static int32_t outputs[BNN_MODEL_OUTPUT_COUNT];
static uint32_t layer_ticks[BNN_MAX2(BNN_MODEL_NUM_LAYERS, 1)];
static bnn_frame_rx_t rx;
static bnn_frame_tx_t tx; /* 255-byte COBS block: static, not on the stack */

static void uart_write_cb(void *ctx, const uint8_t *data, size_t len)
{
    (void)ctx;
    bnn_uart_write(data, len);
}

static void send_error(uint8_t seq, bnn_proto_error_t code, uint32_t detail)
{
    bnn_frame_send_error(uart_write_cb, NULL, seq, (uint8_t)code, detail);
}

static void handle_hello(uint8_t seq)
{
    bnn_frame_tx_begin(&tx, uart_write_cb, NULL, (uint8_t)BNN_MSG_INFO, seq);
    bnn_frame_tx_put_u16(&tx, (uint16_t)BNN_PROTOCOL_VERSION);
    bnn_frame_tx_put(&tx, bnn_model_hash, 16u);
    bnn_frame_tx_put_u32(&tx, (uint32_t)BNN_MODEL_INPUT_BYTES);
    bnn_frame_tx_put_u32(&tx, (uint32_t)BNN_MODEL_OUTPUT_COUNT);
    bnn_frame_tx_put_u32(&tx, (uint32_t)BNN_MODEL_ARENA_BYTES);
    bnn_frame_tx_put_u32(&tx, (uint32_t)MAX_PAYLOAD);
    bnn_frame_tx_put_u16(&tx, (uint16_t)BNN_MODEL_NUM_LAYERS);
    bnn_frame_tx_put_u8(&tx, (uint8_t)bnn_counter_kind());
    bnn_frame_tx_put_u32(&tx, bnn_counter_hz());
    bnn_frame_tx_put_u8(&tx, (uint8_t)BOARD_NAME_BYTES);
    bnn_frame_tx_put(&tx, (const uint8_t *)BNN_BOARD_NAME, BOARD_NAME_BYTES);
    bnn_frame_tx_end(&tx);
}

static void handle_infer(uint8_t seq, const uint8_t *input, size_t len, int profile)
{
    uint32_t t0;
    uint32_t t1;
    int32_t top1 = -1;
    bnn_status_t status;
    size_t i;

    if (len != (size_t)BNN_MODEL_INPUT_BYTES) {
        send_error(seq, BNN_PROTO_ERR_BAD_LENGTH, (uint32_t)len);
        return;
    }
    bnn_timed_region_enter();
    t0 = bnn_counter_read();
    BNN_COMPILER_BARRIER();
    status = bnn_model_invoke(input, outputs, &top1, profile ? layer_ticks : NULL);
    BNN_COMPILER_BARRIER();
    t1 = bnn_counter_read();
    bnn_timed_region_exit();

    if (status != BNN_OK) {
        send_error(seq, BNN_PROTO_ERR_MODEL_FAILED, (uint32_t)status);
        return;
    }
    bnn_frame_tx_begin(&tx, uart_write_cb, NULL,
                       (uint8_t)(profile ? BNN_MSG_PROFILE_RESULT : BNN_MSG_RESULT), seq);
    bnn_frame_tx_put_u32(&tx, t1 - t0); /* modulo 2^32: survives one counter wrap */
    bnn_frame_tx_put_i32(&tx, top1);
    if (profile) {
        bnn_frame_tx_put_u16(&tx, (uint16_t)BNN_MODEL_NUM_LAYERS);
        for (i = 0; i < (size_t)BNN_MODEL_NUM_LAYERS; ++i) {
            bnn_frame_tx_put_u32(&tx, layer_ticks[i]);
        }
    }
    for (i = 0; i < (size_t)BNN_MODEL_OUTPUT_COUNT; ++i) {
        bnn_frame_tx_put_i32(&tx, outputs[i]);
    }
    bnn_frame_tx_end(&tx);
}

/* The payload is moved to the end of rx_buf and expanded from its start (bnn/bnn_rle.h): no second
 * input-sized buffer. The frame's bytes are not needed afterwards. */
static void handle_infer_rle(uint8_t seq, const uint8_t *payload, size_t len)
{
    uint32_t bad;
    if (len > sizeof rx_buf) {
        send_error(seq, BNN_PROTO_ERR_BAD_LENGTH, (uint32_t)len);
        return;
    }
    memmove(rx_buf + sizeof rx_buf - len, payload, len);
    bad = bnn_rle_expand_in_place(rx_buf, sizeof rx_buf, len, (size_t)BNN_MODEL_INPUT_BYTES);
    if (bad != 0u) {
        send_error(seq, BNN_PROTO_ERR_BAD_RLE, bad);
        return;
    }
    handle_infer(seq, rx_buf, (size_t)BNN_MODEL_INPUT_BYTES, 0);
}

static void handle_stats(uint8_t seq)
{
    bnn_frame_tx_begin(&tx, uart_write_cb, NULL, (uint8_t)BNN_MSG_STATS_RESULT, seq);
    bnn_frame_tx_put_u32(&tx, bnn_platform_stack_used());
    bnn_frame_tx_put_u32(&tx, bnn_platform_stack_size());
    bnn_frame_tx_end(&tx);
}

static void handle_frame(const bnn_frame_t *fr)
{
    switch (fr->type) {
    case BNN_MSG_HELLO:
        if (fr->len != 0u) {
            send_error(fr->seq, BNN_PROTO_ERR_BAD_LENGTH, (uint32_t)fr->len);
        } else {
            handle_hello(fr->seq);
        }
        break;
    case BNN_MSG_INFER:
        handle_infer(fr->seq, fr->payload, fr->len, 0);
        break;
    case BNN_MSG_PROFILE:
        handle_infer(fr->seq, fr->payload, fr->len, 1);
        break;
    case BNN_MSG_INFER_RLE:
        handle_infer_rle(fr->seq, fr->payload, fr->len);
        break;
    case BNN_MSG_SHUTDOWN:
        if (fr->len != 0u) {
            send_error(fr->seq, BNN_PROTO_ERR_BAD_LENGTH, (uint32_t)fr->len);
        } else {
            bnn_platform_exit(0);
        }
        break;
    case BNN_MSG_STATS:
        if (fr->len != 0u) {
            send_error(fr->seq, BNN_PROTO_ERR_BAD_LENGTH, (uint32_t)fr->len);
        } else {
            handle_stats(fr->seq);
        }
        break;
    default:
        send_error(fr->seq, BNN_PROTO_ERR_UNKNOWN_TYPE, fr->type);
        break;
    }
}

int main(void)
{
    static const uint8_t delimiter = 0u;
    bnn_platform_init();
    bnn_frame_rx_init(&rx, rx_buf, sizeof rx_buf);
    /* Ends whatever the host may have buffered before us (e.g. boot noise); an empty frame to it. */
    bnn_uart_write(&delimiter, 1u);
    for (;;) {
        bnn_frame_t fr;
        const int c = bnn_uart_getc();
        if (c < 0) {
            bnn_platform_exit(0);
            return 0; /* not reached on platforms whose exit does not return */
        }
        switch (bnn_frame_rx_feed(&rx, (uint8_t)c, &fr)) {
        case BNN_FRAME_RX_FRAME:
            handle_frame(&fr);
            break;
        case BNN_FRAME_RX_ERROR:
            send_error(fr.seq, (bnn_proto_error_t)fr.error, fr.detail);
            break;
        default:
            break;
        }
    }
}
