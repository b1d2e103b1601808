"""Generate demo/catalog.jsonl: catalog entities for linking spans in transcripts.

Real, well-known names (including everything the demo clips mention) come from the
lists below; the rest are made-up but plausible names built from word lists with a
seeded RNG, so a rerun writes the same file. No downloads.

    .venv/bin/python scripts/make_demo_catalog.py
"""

from __future__ import annotations

import json
import random
import uuid
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "demo" / "catalog.jsonl"
SEED = 20261117
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://annotate.invalid/demo-catalog")
MUSIC_KINDS = {"artist", "song", "album"}
FAKE_COUNTS = {"artist": 900, "song": 2000, "album": 400, "podcast": 150}

# One entity per line: "Name | alias | alias". Most popular first.
ARTISTS = """
Taylor Swift | T Swift | Taylor Alison Swift | Tay Tay
Beyoncé | Beyonce | Queen Bey | Beyoncé Knowles
Drake | Drizzy | Aubrey Graham
Bad Bunny | Benito Antonio Martínez Ocasio | El Conejo Malo
The Weeknd | Weeknd | Abel Tesfaye
Ed Sheeran | Edward Sheeran
Billie Eilish | Billie Eilish O'Connell
Adele | Adele Adkins
Coldplay
Dua Lipa
Harry Styles
Olivia Rodrigo
Miley Cyrus
Ariana Grande | Ari
Rihanna | RiRi | Robyn Fenty
Bruno Mars
Kendrick Lamar | K-Dot
Post Malone | Posty
Justin Bieber | Bieber
Eminem | Slim Shady | Marshall Mathers
SZA
Doja Cat
Travis Scott
Lady Gaga | Gaga
Kanye West | Ye
Imagine Dragons
Sabrina Carpenter
Morgan Wallen
Luke Combs
Zach Bryan
Karol G
Peso Pluma
Shakira
J Balvin
Daddy Yankee
Luis Fonsi
Maroon 5
Katy Perry
Lizzo
Sam Smith
Lewis Capaldi
Arctic Monkeys
The Beatles | Beatles
Queen
ABBA
Fleetwood Mac
Michael Jackson | MJ | King of Pop
Elton John | Sir Elton
Madonna
Whitney Houston
Mariah Carey
Stevie Wonder
Bob Marley
Nirvana
Radiohead
Oasis
Foo Fighters
Red Hot Chili Peppers | RHCP | Chili Peppers
Linkin Park
Green Day
U2
The Rolling Stones | Rolling Stones | The Stones
Pink Floyd
Led Zeppelin | Led Zep
AC/DC | ACDC
Metallica
Bruce Springsteen | The Boss
Frank Ocean
Tyler, the Creator | Tyler the Creator
Childish Gambino | Donald Glover
Cardi B
Nicki Minaj
Megan Thee Stallion
Lil Nas X
Lil Wayne | Weezy
Jay-Z | Jay Z | Hov
Snoop Dogg
50 Cent
Kygo
Calvin Harris
David Guetta
Avicii
Marshmello
The Chainsmokers | Chainsmokers
Shawn Mendes
Camila Cabello
Selena Gomez
Demi Lovato
Halsey
Lorde
Lana Del Rey
Florence + the Machine | Florence and the Machine
Hozier
Tame Impala
Mumford & Sons | Mumford and Sons
Noah Kahan
Chappell Roan
Tate McRae
Gracie Abrams
Stray Kids
BTS | Bangtan Boys
BLACKPINK | Black Pink
NewJeans
Jung Kook | Jungkook
Rosalía | Rosalia
Rauw Alejandro
Ozuna
Feid
Anitta
Burna Boy
Wizkid
Tems
Stormzy
Dave
Central Cee
Little Mix
One Direction | 1D
Spice Girls
Amy Winehouse
George Michael
David Bowie | Bowie
Prince
Frank Sinatra | Ol' Blue Eyes
Elvis Presley | Elvis | The King
Johnny Cash | The Man in Black
Dolly Parton
Kacey Musgraves
Chris Stapleton
Carrie Underwood
Shania Twain
Kenny Chesney
Jason Aldean
Luke Bryan
The Carters | Beyoncé and Jay-Z
Norah Jones
Michael Bublé | Michael Buble
John Legend
Alicia Keys
Usher
Chris Brown
Pharrell Williams | Pharrell
Daft Punk
Gorillaz
Muse
Kings of Leon
The Killers | Killers
Paramore
Twenty One Pilots | twenty one pilots | TOP
Panic! at the Disco | Panic at the Disco
Fall Out Boy
OneRepublic | One Republic
Jonas Brothers
Pitbull | Mr. Worldwide
Sia
Ellie Goulding
Rita Ora
Jess Glynne
Raye
Mabel
"""

SONGS = """
Shake It Off
Anti-Hero | Antihero
Cruel Summer
Blank Space
Love Story
Halo
Crazy in Love
Single Ladies (Put a Ring on It) | Single Ladies
Texas Hold 'Em | Texas Hold Em
Shape of You
Perfect
Thinking Out Loud
Bad Guy | bad guy
Birds of a Feather
What Was I Made For?
God's Plan | Gods Plan
Hotline Bling
One Dance
Rolling in the Deep
Hello
Someone Like You
Easy on Me
Tití Me Preguntó | Titi Me Pregunto
Me Porto Bonito
Dákiti | Dakiti
Yellow
Viva la Vida
Fix You
The Scientist
Blinding Lights
Save Your Tears
Starboy
Flowers
Wrecking Ball
Party in the U.S.A. | Party in the USA
Levitating
Don't Start Now | Dont Start Now
Houdini
As It Was
Watermelon Sugar
Sign of the Times
Good 4 U | Good for You
Drivers License | drivers license
Vampire
7 Rings
Thank U, Next | Thank You Next
Umbrella
Diamonds
Uptown Funk
Just the Way You Are
Die With a Smile
HUMBLE. | Humble
Not Like Us
Circles
Sunflower
Baby
Peaches
Lose Yourself
Without Me
Kill Bill
Snooze
Say So
Sicko Mode
Shallow
Bad Romance
Poker Face
Believer
Thunder
Radioactive
Espresso
Please Please Please
Last Night
Despacito
Hips Don't Lie | Hips Dont Lie
Waka Waka (This Time for Africa) | Waka Waka
Firework
Roar
Teenage Dream
Truth Hurts
About Damn Time
Stay With Me
Someone You Loved
Do I Wanna Know?
505
Hey Jude
Let It Be
Here Comes the Sun
Yesterday
Bohemian Rhapsody
Don't Stop Me Now | Dont Stop Me Now
Dancing Queen
Mamma Mia
Dreams
Billie Jean
Thriller
Beat It
Rocket Man
Tiny Dancer
Like a Prayer
I Wanna Dance with Somebody
I Will Always Love You
All I Want for Christmas Is You
Superstition
Three Little Birds
One Love
Smells Like Teen Spirit
Creep
Wonderwall
Don't Look Back in Anger
Everlong
Californication
Under the Bridge
In the End
Numb
Boulevard of Broken Dreams
With or Without You
(I Can't Get No) Satisfaction | Satisfaction
Paint It Black
Wish You Were Here
Stairway to Heaven
Highway to Hell
Back in Black
Enter Sandman
Nothing Else Matters
Born to Run
Dancing in the Dark
Thinkin Bout You
See You Again
Redbone
Bodak Yellow
Super Bass
Old Town Road
Lollipop
Empire State of Mind
Drop It Like It's Hot
In da Club
Wake Me Up
Levels
Summer
Titanium
Alone
Closer
Señorita | Senorita
Havana
Lose You to Love Me
Royals
Summertime Sadness
Video Games
Dog Days Are Over
Take Me to Church
The Less I Know the Better
Little Lion Man
Stick Season
Good Luck, Babe! | Good Luck Babe
Greedy
Dynamite
Butter
How You Like That
Pink Venom
Super Shy
Seven
Despechá | Despecha
Tusa
Provenza
Calm Down
Last Last
Essence
Vossi Bop
Sprinter
Black Magic
Wannabe
Rehab
Back to Black
Careless Whisper
Heroes
Space Oddity
Purple Rain
My Way
Fly Me to the Moon
Can't Help Falling in Love | Cant Help Falling in Love
Jailhouse Rock
Ring of Fire
Jolene
9 to 5 | Nine to Five
Tennessee Whiskey
Before He Cheats
Man! I Feel Like a Woman! | Man I Feel Like a Woman
Don't Know Why
All of Me
Fallin'
Yeah!
Happy
Get Lucky
Feel Good Inc.
Uprising
Sex on Fire
Use Somebody
Mr. Brightside | Mr Brightside
Misery Business
Stressed Out
Heathens
High Hopes
Sugar, We're Goin Down
Counting Stars
Apologize
Sucker
Timber
Chandelier
Cheap Thrills
Burn
Anyone for You
Escapism.
"""

ALBUMS = """
1989 | 1989 (Taylor's Version)
Midnights
Folklore | folklore
The Tortured Poets Department | TTPD
Lemonade
Renaissance
Cowboy Carter
÷ | Divide
Hit Me Hard and Soft
Happier Than Ever
Scorpion
Views
21
25
30
Un Verano Sin Ti
After Hours
Future Nostalgia
Harry's House | Harrys House
SOUR | Sour
GUTS | Guts
Endless Summer Vacation
A Rush of Blood to the Head
Parachutes
Abbey Road
Thriller
Rumours
Back to Black
Nevermind
OK Computer
AM
DAMN.
good kid, m.A.A.d city | Good Kid Mad City
SOS
Short n' Sweet | Short n Sweet
One Thing at a Time
Mañana Será Bonito | Manana Sera Bonito
The Dark Side of the Moon | Dark Side of the Moon
Purple Rain
Random Access Memories
"""

PODCASTS = """
The Daily
Serial
This American Life
Radiolab
Stuff You Should Know | SYSK
Crime Junkie
The Joe Rogan Experience | Joe Rogan | JRE
Call Her Daddy
SmartLess
Freakonomics Radio | Freakonomics
Hidden Brain
Planet Money
Up First
The Rest Is History
Desert Island Discs
No Such Thing as a Fish
My Favorite Murder
"""

APPS = """
Spotify
Apple Music
Amazon Music | Prime Music
YouTube Music
Pandora
TuneIn
iHeartRadio | iHeart Radio
SiriusXM | Sirius XM
BBC Sounds
Audible
Uber
Lyft
Domino's | Dominos
Uber Eats | UberEats
Netflix
Disney Plus | Disney+
Ring
Philips Hue | Hue
Calm
Headspace
"""

PLACES = """
London
Manchester
Edinburgh
Glasgow
Birmingham
Seattle
Chicago
Boston
Denver
New York | NYC | New York City
Los Angeles | LA | L.A.
San Francisco | SF | San Fran
Austin
Miami
Atlanta
Tokyo
Paris
Berlin
Madrid
San Juan
Toronto
Sydney
Eiffel Tower | La Tour Eiffel
Times Square
Central Park
Heathrow Airport | Heathrow | LHR
"""

OTHER = """
milk
oat milk | oatmilk
eggs
bread
washing up liquid | dish soap
pasta
bananas
coffee
kitchen lights
living room
"""

WORDS = {
    "adj": "velvet golden silver neon midnight electric paper crystal wild quiet lonely broken "
    "burning frozen hollow lucky restless sunday purple scarlet crimson amber blue green "
    "little big last first secret sweet bitter honest faded shining",
    "noun": "heart fire river ocean moon star city road summer winter rain storm light shadow "
    "dream ghost garden mirror window echo thunder diamond rose wolf tiger lantern arrow "
    "highway harbor canyon desert island satellite signal engine parade carousel",
    "verb": "chasing dancing falling running burning waiting dreaming holding missing calling "
    "breaking finding losing counting leaving",
    "first": "Ava Mia Leo Noah Luca Maya Zoe Kai Ella Ruby Jack Finn Nina Theo Iris Omar Lena "
    "Jade Milo Cleo Rosa Eli Sage Remy Nova Jules Tess Owen Lila Dante Ines Mateo Priya Kofi",
    "last": "Hart Rivers Stone Vale Monroe Lane Brooks Cole Reyes Park Santos Moreno Quinn "
    "Hayes Knight Frost Wilde Blake Sterling Navarro Okafor Lindqvist Castell Fontaine Marsh",
    "place": "Memphis Brooklyn Tokyo Paris Berlin Lagos Austin Brixton Havana Seoul Dublin Nashville Malibu Reno",
    "topic": "History Science Money Comedy Crime Tech Film Football Gardening Cooking Books "
    "Health Politics Design Travel",
}


def parse(block: str) -> list[tuple[str, list[str]]]:
    rows = [[part.strip() for part in line.split("|")] for line in block.strip().splitlines()]
    return [(row[0], row[1:]) for row in rows]


def fake_name(kind: str, rng: random.Random) -> str:
    w = {key: rng.choice(value.split()) for key, value in WORDS.items()}
    adj, noun, verb = w["adj"].title(), w["noun"].title(), w["verb"].title()
    patterns = {
        "artist": [
            f"{w['first']} {w['last']}",
            f"{w['first']} {w['last']}",
            f"The {adj} {noun}s",
            f"{adj} {noun}",
            f"DJ {noun}",
            f"Lil {noun}",
            f"{w['first']} & the {noun}s",
            f"{noun} {w['place']}",
        ],
        "song": [
            f"{adj} {noun}",
            f"{verb} {noun}s",
            f"{noun} in {w['place']}",
            f"{verb} the {noun}",
            f"{adj} {noun}s",
            f"Last {noun} in {w['place']}",
            f"{noun} of {adj} Things",
            f"{w['first']}",
        ],
        "album": [f"{adj} {noun}", f"{noun}s", f"The {adj} Years", f"{w['place']} {noun}"],
        "podcast": [f"The {w['topic']} Hour", f"{adj} {w['topic']}", f"{w['topic']} with {w['first']}"],
    }
    return rng.choice(patterns[kind])


def entity(kind: str, name: str, aliases: list[str], popularity: int) -> dict:
    external_ids = {"musicbrainz": str(uuid.uuid5(NAMESPACE, f"{kind}:{name}"))} if kind in MUSIC_KINDS else {}
    return {"kind": kind, "name": name, "aliases": aliases, "external_ids": external_ids, "popularity": popularity}


def build() -> list[dict]:
    rng = random.Random(SEED)
    rows: list[dict] = []
    seen: set[tuple[str, str]] = set()

    def add(kind: str, name: str, aliases: list[str], popularity: int) -> None:
        key = (kind, name.casefold())
        if key not in seen:
            seen.add(key)
            rows.append(entity(kind, name, aliases, popularity))

    hand_written = [
        ("artist", ARTISTS),
        ("song", SONGS),
        ("album", ALBUMS),
        ("podcast", PODCASTS),
        ("app", APPS),
        ("place", PLACES),
        ("other", OTHER),
    ]
    for kind, block in hand_written:
        entries = parse(block)
        for rank, (name, aliases) in enumerate(entries):
            add(kind, name, aliases, 100 - (45 * rank) // len(entries))
    for kind, count in FAKE_COUNTS.items():
        target = len(rows) + count
        while len(rows) < target:
            add(kind, fake_name(kind, rng), [], min(int(rng.expovariate(1 / 12)), 50))
    return rows


def main() -> None:
    rows = build()
    with OUT.open("w") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n")
    print(f"{len(rows)} entities, {OUT.stat().st_size / 1024:.0f} KB, written to {OUT}")


if __name__ == "__main__":
    main()
