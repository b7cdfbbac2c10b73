"""model.summary() against the book's printed summaries.

The book (seed 002) lost the column spacing in extraction, so chapter 2/5/7 tables are compared
word for word, plus one chapter 2 table character for character in Keras 2.2.4's layout. The
Pix2Pix discriminator, U-Net generator and composite tables come from seed 004, which kept the
spacing: those are compared character for character (trailing blanks aside, which that copy dropped).
"""
import pytest

import tinygan.random
from tinygan.keras.engine.base_layer import reset_uids
from tinygan.keras.initializers import RandomNormal
from tinygan.keras.layers import (LSTM, Activation, BatchNormalization, Concatenate, Conv2D, Conv2DTranspose, Dense,
                                  Dropout, Flatten, Input, LeakyReLU, MaxPooling2D, Reshape, UpSampling2D)
from tinygan.keras.models import Model, Sequential
from tinygan.keras.optimizers import Adam


@pytest.fixture(autouse=True)
def fresh_session():
    reset_uids()
    tinygan.random.seed(0)


def summary_of(model):
    lines = []
    model.summary(print_fn=lines.append)
    return lines


def words(text_lines):
    return [" ".join(line.split()) for line in text_lines if line.strip()]


def assert_book_table(model, book):
    assert words(summary_of(model)) == words(book.strip().splitlines())


# ---- chapter 2 ---------------------------------------------------------------------------------

MLP_KERAS = """\
_________________________________________________________________
Layer (type)                 Output Shape              Param #   
=================================================================
input_1 (InputLayer)         (None, 10)                0         
_________________________________________________________________
dense_1 (Dense)              (None, 10)                110       
_________________________________________________________________
dense_2 (Dense)              (None, 20)                220       
_________________________________________________________________
dense_3 (Dense)              (None, 10)                210       
_________________________________________________________________
dense_4 (Dense)              (None, 1)                 11        
=================================================================
Total params: 551
Trainable params: 551
Non-trainable params: 0
_________________________________________________________________"""


def test_ch2_functional_mlp_summary_character_for_character():
    visible = Input(shape=(10,))
    hidden1 = Dense(10, activation='relu')(visible)
    hidden2 = Dense(20, activation='relu')(hidden1)
    hidden3 = Dense(10, activation='relu')(hidden2)
    output = Dense(1, activation='sigmoid')(hidden3)
    model = Model(inputs=visible, outputs=output)
    assert summary_of(model) == MLP_KERAS.split("\n")


CNN_BOOK = """
_________________________________________________________________
Layer (type) Output Shape Param #
=================================================================
input_1 (InputLayer) (None, 64, 64, 1) 0
_________________________________________________________________
conv2d_1 (Conv2D) (None, 61, 61, 32) 544
_________________________________________________________________
max_pooling2d_1 (MaxPooling2 (None, 30, 30, 32) 0
_________________________________________________________________
conv2d_2 (Conv2D) (None, 27, 27, 16) 8208
_________________________________________________________________
max_pooling2d_2 (MaxPooling2 (None, 13, 13, 16) 0
_________________________________________________________________
flatten_1 (Flatten) (None, 2704) 0
_________________________________________________________________
dense_1 (Dense) (None, 10) 27050
_________________________________________________________________
dense_2 (Dense) (None, 1) 11
=================================================================
Total params: 35,813
Trainable params: 35,813
Non-trainable params: 0
_________________________________________________________________
"""


def test_ch2_functional_cnn_summary_matches_book():
    visible = Input(shape=(64, 64, 1))
    conv1 = Conv2D(32, (4, 4), activation='relu')(visible)
    pool1 = MaxPooling2D()(conv1)
    conv2 = Conv2D(16, (4, 4), activation='relu')(pool1)
    pool2 = MaxPooling2D()(conv2)
    flat1 = Flatten()(pool2)
    hidden1 = Dense(10, activation='relu')(flat1)
    output = Dense(1, activation='sigmoid')(hidden1)
    assert_book_table(Model(inputs=visible, outputs=output), CNN_BOOK)


RNN_BOOK = """
_________________________________________________________________
Layer (type) Output Shape Param #
=================================================================
input_1 (InputLayer) (None, 100, 1) 0
_________________________________________________________________
lstm_1 (LSTM) (None, 10) 480
_________________________________________________________________
dense_1 (Dense) (None, 10) 110
_________________________________________________________________
dense_2 (Dense) (None, 1) 11
=================================================================
Total params: 601
Trainable params: 601
Non-trainable params: 0
_________________________________________________________________
"""


def test_ch2_functional_rnn_summary_matches_book():
    visible = Input(shape=(100, 1))
    hidden1 = LSTM(10)(visible)
    hidden2 = Dense(10, activation='relu')(hidden1)
    output = Dense(1, activation='sigmoid')(hidden2)
    assert_book_table(Model(inputs=visible, outputs=output), RNN_BOOK)


# ---- chapters 3 and 5 ----------------------------------------------------------------------------

def test_ch3_upsampling_and_transpose_demo_rows():
    up = Sequential()
    up.add(UpSampling2D(input_shape=(2, 2, 1)))
    assert words(summary_of(up))[3] == "up_sampling2d_1 (UpSampling2 (None, 4, 4, 1) 0"
    tr = Sequential()
    tr.add(Conv2DTranspose(1, (1, 1), strides=(2, 2), input_shape=(2, 2, 1)))
    assert words(summary_of(tr))[3] == "conv2d_transpose_1 (Conv2DTr (None, 4, 4, 1) 2"


BN_BOOK = """
_________________________________________________________________
Layer (type) Output Shape Param #
=================================================================
conv2d_1 (Conv2D) (None, 32, 32, 64) 1792
_________________________________________________________________
batch_normalization_1 (Batch (None, 32, 32, 64) 256
_________________________________________________________________
leaky_re_lu_1 (LeakyReLU) (None, 32, 32, 64) 0
=================================================================
Total params: 2,048
Trainable params: 1,920
Non-trainable params: 128
_________________________________________________________________
"""


def test_ch5_batch_norm_counts_moving_statistics_as_non_trainable():
    model = Sequential()
    model.add(Conv2D(64, (3, 3), strides=(2, 2), padding='same', input_shape=(64, 64, 3)))
    model.add(BatchNormalization())
    model.add(LeakyReLU(0.2))
    assert_book_table(model, BN_BOOK)


# ---- chapter 7 -------------------------------------------------------------------------------------

def define_discriminator(in_shape=(28, 28, 1)):
    model = Sequential()
    model.add(Conv2D(64, (3, 3), strides=(2, 2), padding='same', input_shape=in_shape))
    model.add(LeakyReLU(alpha=0.2))
    model.add(Dropout(0.4))
    model.add(Conv2D(64, (3, 3), strides=(2, 2), padding='same'))
    model.add(LeakyReLU(alpha=0.2))
    model.add(Dropout(0.4))
    model.add(Flatten())
    model.add(Dense(1, activation='sigmoid'))
    opt = Adam(lr=0.0002, beta_1=0.5)
    model.compile(loss='binary_crossentropy', optimizer=opt, metrics=['accuracy'])
    return model


def define_generator(latent_dim):
    model = Sequential()
    n_nodes = 128 * 7 * 7
    model.add(Dense(n_nodes, input_dim=latent_dim))
    model.add(LeakyReLU(alpha=0.2))
    model.add(Reshape((7, 7, 128)))
    model.add(Conv2DTranspose(128, (4, 4), strides=(2, 2), padding='same'))
    model.add(LeakyReLU(alpha=0.2))
    model.add(Conv2DTranspose(128, (4, 4), strides=(2, 2), padding='same'))
    model.add(LeakyReLU(alpha=0.2))
    model.add(Conv2D(1, (7, 7), activation='sigmoid', padding='same'))
    return model


def define_gan(g_model, d_model):
    d_model.trainable = False
    model = Sequential()
    model.add(g_model)
    model.add(d_model)
    opt = Adam(lr=0.0002, beta_1=0.5)
    model.compile(loss='binary_crossentropy', optimizer=opt)
    return model


CH7_D_BOOK = """
_________________________________________________________________
Layer (type) Output Shape Param #
=================================================================
conv2d_1 (Conv2D) (None, 14, 14, 64) 640
_________________________________________________________________
leaky_re_lu_1 (LeakyReLU) (None, 14, 14, 64) 0
_________________________________________________________________
dropout_1 (Dropout) (None, 14, 14, 64) 0
_________________________________________________________________
conv2d_2 (Conv2D) (None, 7, 7, 64) 36928
_________________________________________________________________
leaky_re_lu_2 (LeakyReLU) (None, 7, 7, 64) 0
_________________________________________________________________
dropout_2 (Dropout) (None, 7, 7, 64) 0
_________________________________________________________________
flatten_1 (Flatten) (None, 3136) 0
_________________________________________________________________
dense_1 (Dense) (None, 1) 3137
=================================================================
Total params: 40,705
Trainable params: 40,705
Non-trainable params: 0
_________________________________________________________________
"""

CH7_G_BOOK = """
_________________________________________________________________
Layer (type) Output Shape Param #
=================================================================
dense_1 (Dense) (None, 6272) 633472
_________________________________________________________________
leaky_re_lu_1 (LeakyReLU) (None, 6272) 0
_________________________________________________________________
reshape_1 (Reshape) (None, 7, 7, 128) 0
_________________________________________________________________
conv2d_transpose_1 (Conv2DTr (None, 14, 14, 128) 262272
_________________________________________________________________
leaky_re_lu_2 (LeakyReLU) (None, 14, 14, 128) 0
_________________________________________________________________
conv2d_transpose_2 (Conv2DTr (None, 28, 28, 128) 262272
_________________________________________________________________
leaky_re_lu_3 (LeakyReLU) (None, 28, 28, 128) 0
_________________________________________________________________
conv2d_1 (Conv2D) (None, 28, 28, 1) 6273
=================================================================
Total params: 1,164,289
Trainable params: 1,164,289
Non-trainable params: 0
_________________________________________________________________
"""

CH7_GAN_BOOK = """
_________________________________________________________________
Layer (type) Output Shape Param #
=================================================================
sequential_2 (Sequential) (None, 28, 28, 1) 1164289
_________________________________________________________________
sequential_1 (Sequential) (None, 1) 40705
=================================================================
Total params: 1,204,994
Trainable params: 1,164,289
Non-trainable params: 40,705
_________________________________________________________________
"""


def test_ch7_discriminator_generator_and_gan_summaries_match_book():
    assert_book_table(define_discriminator(), CH7_D_BOOK)
    reset_uids()  # the book runs each listing as its own program
    assert_book_table(define_generator(100), CH7_G_BOOK)
    reset_uids()
    d_model = define_discriminator()
    g_model = define_generator(100)
    assert_book_table(define_gan(g_model, d_model), CH7_GAN_BOOK)


def test_ch6_gan_counts():
    d = Sequential([Dense(25, activation='relu', kernel_initializer='he_uniform', input_dim=2),
                    Dense(1, activation='sigmoid')])
    g = Sequential([Dense(15, activation='relu', kernel_initializer='he_uniform', input_dim=5),
                    Dense(2, activation='linear')])
    d.trainable = False
    gan = Sequential([g, d])
    assert words(summary_of(gan))[-4:-1] == ["Total params: 223", "Trainable params: 122", "Non-trainable params: 101"]


# ---- chapter 22 (Pix2Pix): exact layout with the Connected to column ---------------------------------

def p2p_discriminator(image_shape):
    init = RandomNormal(stddev=0.02)
    in_src_image = Input(shape=image_shape)
    in_target_image = Input(shape=image_shape)
    merged = Concatenate()([in_src_image, in_target_image])
    d = Conv2D(64, (4, 4), strides=(2, 2), padding='same', kernel_initializer=init)(merged)
    d = LeakyReLU(alpha=0.2)(d)
    for filters, strides in ((128, 2), (256, 2), (512, 2), (512, 1)):
        d = Conv2D(filters, (4, 4), strides=(strides, strides), padding='same', kernel_initializer=init)(d)
        d = BatchNormalization()(d)
        d = LeakyReLU(alpha=0.2)(d)
    d = Conv2D(1, (4, 4), padding='same', kernel_initializer=init)(d)
    patch_out = Activation('sigmoid')(d)
    model = Model([in_src_image, in_target_image], patch_out)
    model.compile(loss='binary_crossentropy', optimizer=Adam(lr=0.0002, beta_1=0.5), loss_weights=[0.5])
    return model


def encoder_block(layer_in, n_filters, batchnorm=True):
    init = RandomNormal(stddev=0.02)
    g = Conv2D(n_filters, (4, 4), strides=(2, 2), padding='same', kernel_initializer=init)(layer_in)
    if batchnorm:
        g = BatchNormalization()(g, training=True)
    return LeakyReLU(alpha=0.2)(g)


def decoder_block(layer_in, skip_in, n_filters, dropout=True):
    g = Conv2DTranspose(n_filters, (4, 4), strides=(2, 2), padding='same',
                        kernel_initializer=RandomNormal(stddev=0.02))(layer_in)
    g = BatchNormalization()(g, training=True)
    if dropout:
        g = Dropout(0.5)(g, training=True)
    g = Concatenate()([g, skip_in])
    return Activation('relu')(g)


def p2p_generator(image_shape=(256, 256, 3)):
    init = RandomNormal(stddev=0.02)
    in_image = Input(shape=image_shape)
    e1 = encoder_block(in_image, 64, batchnorm=False)
    e2 = encoder_block(e1, 128)
    e3 = encoder_block(e2, 256)
    e4 = encoder_block(e3, 512)
    e5 = encoder_block(e4, 512)
    e6 = encoder_block(e5, 512)
    e7 = encoder_block(e6, 512)
    b = Conv2D(512, (4, 4), strides=(2, 2), padding='same', kernel_initializer=init)(e7)
    b = Activation('relu')(b)
    d1 = decoder_block(b, e7, 512)
    d2 = decoder_block(d1, e6, 512)
    d3 = decoder_block(d2, e5, 512)
    d4 = decoder_block(d3, e4, 512, dropout=False)
    d5 = decoder_block(d4, e3, 256, dropout=False)
    d6 = decoder_block(d5, e2, 128, dropout=False)
    d7 = decoder_block(d6, e1, 64, dropout=False)
    g = Conv2DTranspose(3, (4, 4), strides=(2, 2), padding='same', kernel_initializer=init)(d7)
    return Model(in_image, Activation('tanh')(g))


def p2p_gan(g_model, d_model, image_shape):
    d_model.trainable = False
    in_src = Input(shape=image_shape)
    gen_out = g_model(in_src)
    dis_out = d_model([in_src, gen_out])
    model = Model(in_src, [dis_out, gen_out])
    model.compile(loss=['binary_crossentropy', 'mae'], optimizer=Adam(lr=0.0002, beta_1=0.5), loss_weights=[1, 100])
    return model


P2P_D_S4 = """\
__________________________________________________________________________________________________
Layer (type)                    Output Shape         Param #     Connected to
==================================================================================================
input_1 (InputLayer)            (None, 256, 256, 3)  0
__________________________________________________________________________________________________
input_2 (InputLayer)            (None, 256, 256, 3)  0
__________________________________________________________________________________________________
concatenate_1 (Concatenate)     (None, 256, 256, 6)  0           input_1[0][0]
                                                                 input_2[0][0]
__________________________________________________________________________________________________
conv2d_1 (Conv2D)               (None, 128, 128, 64) 6208        concatenate_1[0][0]
__________________________________________________________________________________________________
leaky_re_lu_1 (LeakyReLU)       (None, 128, 128, 64) 0           conv2d_1[0][0]
__________________________________________________________________________________________________
conv2d_2 (Conv2D)               (None, 64, 64, 128)  131200      leaky_re_lu_1[0][0]
__________________________________________________________________________________________________
batch_normalization_1 (BatchNor (None, 64, 64, 128)  512         conv2d_2[0][0]
__________________________________________________________________________________________________
leaky_re_lu_2 (LeakyReLU)       (None, 64, 64, 128)  0           batch_normalization_1[0][0]
__________________________________________________________________________________________________
conv2d_3 (Conv2D)               (None, 32, 32, 256)  524544      leaky_re_lu_2[0][0]
__________________________________________________________________________________________________
batch_normalization_2 (BatchNor (None, 32, 32, 256)  1024        conv2d_3[0][0]
__________________________________________________________________________________________________
leaky_re_lu_3 (LeakyReLU)       (None, 32, 32, 256)  0           batch_normalization_2[0][0]
__________________________________________________________________________________________________
conv2d_4 (Conv2D)               (None, 16, 16, 512)  2097664     leaky_re_lu_3[0][0]
__________________________________________________________________________________________________
batch_normalization_3 (BatchNor (None, 16, 16, 512)  2048        conv2d_4[0][0]
__________________________________________________________________________________________________
leaky_re_lu_4 (LeakyReLU)       (None, 16, 16, 512)  0           batch_normalization_3[0][0]
__________________________________________________________________________________________________
conv2d_5 (Conv2D)               (None, 16, 16, 512)  4194816     leaky_re_lu_4[0][0]
__________________________________________________________________________________________________
batch_normalization_4 (BatchNor (None, 16, 16, 512)  2048        conv2d_5[0][0]
__________________________________________________________________________________________________
leaky_re_lu_5 (LeakyReLU)       (None, 16, 16, 512)  0           batch_normalization_4[0][0]
__________________________________________________________________________________________________
conv2d_6 (Conv2D)               (None, 16, 16, 1)    8193        leaky_re_lu_5[0][0]
__________________________________________________________________________________________________
activation_1 (Activation)       (None, 16, 16, 1)    0           conv2d_6[0][0]
==================================================================================================
Total params: 6,968,257
Trainable params: 6,965,441
Non-trainable params: 2,816
__________________________________________________________________________________________________"""

P2P_GAN_S4 = """\
__________________________________________________________________________________________________
Layer (type)                    Output Shape         Param #     Connected to
==================================================================================================
input_4 (InputLayer)            (None, 256, 256, 3)  0
__________________________________________________________________________________________________
model_2 (Model)                 (None, 256, 256, 3)  54429315    input_4[0][0]
__________________________________________________________________________________________________
model_1 (Model)                 (None, 16, 16, 1)    6968257     input_4[0][0]
                                                                 model_2[1][0]
==================================================================================================
Total params: 61,397,572
Trainable params: 54,419,459
Non-trainable params: 6,978,113
__________________________________________________________________________________________________"""

# The U-Net rows of seed 004 (L448-573), checked at the places where layout and ordering are subtle.
P2P_G_S4_EXCERPTS = [
    "input_1 (InputLayer)            (None, 256, 256, 3)  0",
    "concatenate_1 (Concatenate)     (None, 2, 2, 1024)   0           dropout_1[0][0]",
    "                                                                 leaky_re_lu_7[0][0]",
    "batch_normalization_10 (BatchNo (None, 16, 16, 512)  2048        conv2d_transpose_4[0][0]",
    "concatenate_7 (Concatenate)     (None, 128, 128, 128 0           batch_normalization_13[0][0]",
    "activation_9 (Activation)       (None, 256, 256, 3)  0           conv2d_transpose_8[0][0]",
    "Total params: 54,429,315",
    "Trainable params: 54,419,459",
    "Non-trainable params: 9,856",
]


def rstripped(model):
    return [line.rstrip() for line in summary_of(model)]


def test_pix2pix_summaries_match_seed_character_for_character():
    image_shape = (256, 256, 3)
    d_model = p2p_discriminator(image_shape)
    assert rstripped(d_model) == P2P_D_S4.split("\n")
    g_model = p2p_generator(image_shape)
    gan = p2p_gan(g_model, d_model, image_shape)
    assert rstripped(gan) == P2P_GAN_S4.split("\n")
    assert d_model.output_shape[1] == 16

    # Seeds 001/004 freeze every D layer except BatchNormalization: gamma/beta (2,816) become trainable.
    d_model.trainable = True
    for layer in d_model.layers:
        if not isinstance(layer, BatchNormalization):
            layer.trainable = False
    in_src = Input(shape=image_shape)
    gen_out = g_model(in_src)
    bn_aware = Model(in_src, [d_model([in_src, gen_out]), gen_out])
    assert summary_of(bn_aware)[-4:-1] == ["Total params: 61,397,572", "Trainable params: 54,422,275",
                                           "Non-trainable params: 6,975,297"]


def test_pix2pix_unet_generator_summary_order_and_connections():
    lines = rstripped(p2p_generator())
    for row in P2P_G_S4_EXCERPTS:
        assert row in lines
    names = [line.split(" ")[0] for line in lines if "(" in line and "[" in line]
    # Depth ordering puts each skip source right after its encoder block, as Keras lists it.
    assert names[:3] == ["conv2d_1", "leaky_re_lu_1", "conv2d_2"]
    assert names.index("leaky_re_lu_7") < names.index("conv2d_8") < names.index("conv2d_transpose_1")


def test_shared_layer_with_different_shapes_prints_multiple_and_both_connections():
    a, b = Input(shape=(2,)), Input(shape=(4, 2))
    shared = Dense(3)
    model = Model([a, b], [shared(a), shared(b)])
    with pytest.raises(AttributeError):
        shared.output_shape
    lines = rstripped(model)
    row = lines.index("dense_1 (Dense)                 multiple             9           input_1[0][0]")
    assert lines[row + 1] == " " * 65 + "input_2[0][0]"
