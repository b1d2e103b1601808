"""Given names and surnames that spoken personal data is found by (annotate.clips.protect).

Common in the markets the reviewers serve (English-speaking, Spanish, Romanian, Indian).
Names that are also everyday words ("will", "grace", "may", "hope", "mark") are left out:
after "call" or "text" a capitalised word is taken for a name anyway.
"""

GIVEN_NAMES = frozenset(
    """
    aaron abigail adam adrian aidan aisha alan albert alex alexander alexandra alfie alice alicia alison
    amanda amelia amir amit amy ana andrea andrei andrew angela anil anita ann anna anne anthony antonio
    anya arjun arthur ashley aurelia barbara ben benjamin beth betty brian bogdan bridget callum camila
    carla carlos carmen carol caroline catherine charles charlie charlotte chloe chris christina
    christine christopher claire clara cristina cristian daniel daniela david deborah deepak denise diana
    diego dimitri donna dorothy dylan edward elena eleanor elizabeth ella ellie emily emma eric esther
    ethan eva evelyn fatima felix fernando fiona florin francesca frank gabriel gabriela gary george
    georgia gheorghe grace hannah harry harriet heather helen henry ian ioana ion irina isabel isabella
    isla jack jacob james jane janet jasmine jason javier jennifer jessica joan joanna joe john jonathan
    jorge jose joseph joshua juan julia julian karen karthik katherine kathleen kelly kevin kim kiran
    laura lauren leo liam lily linda lisa lucas lucia lucy luis luke madison manuel margaret maria
    marian marina mario martha martin mary matthew maya megan melissa mia michael michelle mihai miguel
    mohammed mohammad nancy natalia nathan neha nicholas nicola nicole nikhil noah oliver olivia oscar
    pablo pamela patricia patrick paul paula pedro peter philip pooja priya rachel rahul raj rajesh ramon
    raul rebecca richard rita robert roberto rohan ryan sam samantha samuel sandra sara sarah scott
    sean sebastian sergio sharon simon sofia sophia sophie stefan stephanie stephen steven susan suresh
    tanya teresa thomas tim timothy tom tyler valentina vanessa vasile victor victoria vijay vikram
    vlad william yusuf zoe
    """.split()
)

SURNAMES = frozenset(
    """
    smith johnson williams brown jones garcia miller davis rodriguez martinez hernandez lopez gonzalez
    wilson anderson thomas taylor moore jackson martin lee perez thompson harris sanchez clark
    ramirez lewis robinson walker allen wright scott torres nguyen flores adams
    nelson rivera campbell mitchell carter roberts evans turner phillips parker collins
    edwards stewart morris murphy rogers morgan patel sharma singh kumar gupta popescu ionescu
    popa dumitru stoica gheorghiu rusu munteanu matei constantin fernandez morales jimenez castro
    ortiz gomez diaz vargas romero alvarez mendoza ruiz herrera medina aguilar chavez
    """.split()
)

NAMES = GIVEN_NAMES | SURNAMES
